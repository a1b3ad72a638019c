/*
 * An independent MLflow client against wattflow's MLflow-compatible API: MLflow's own Java
 * client (org.mlflow:mlflow-client, Maven Central) for every call it has a method for, its
 * protobuf messages (org.mlflow.api.proto.*, generated from MLflow's protos) for the requests
 * of the calls it has no method for (sent with its sendGet/sendPost), and every response parsed
 * STRICTLY into those messages (JsonFormat without ignoringUnknownFields: a field that is not in
 * MLflow's proto, or of the wrong type, fails). The artifact proxy (mlflow-artifacts) is plain
 * HTTP in MLflow (HttpArtifactRepository); the Java client only has a Python-CLI artifact
 * repository, so uploads and downloads go through java.net.http as MLflow's Python client sends
 * them.
 *
 * Run with the single-file source launcher (test/registry/mlflow-java-client.test.ts does):
 *   java -cp <mlflow-client + slf4j> MlflowJavaClientCheck.java URL ONNX_FILE MODEL NATIVE_MODEL NATIVE_SHA256
 * Env WATTFLOW_TOKEN: sent as the bearer token. Prints "ok …" per check and
 * "MLFLOW-JAVA-CHECKS-PASSED" at the end; exits 1 on the first failure.
 */
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.mlflow.api.proto.MlflowArtifacts;
import org.mlflow.api.proto.ModelRegistry.CreateModelVersion;
import org.mlflow.api.proto.ModelRegistry.CreateRegisteredModel;
import org.mlflow.api.proto.ModelRegistry.GetModelVersionByAlias;
import org.mlflow.api.proto.ModelRegistry.GetModelVersionDownloadUri;
import org.mlflow.api.proto.ModelRegistry.GetRegisteredModel;
import org.mlflow.api.proto.ModelRegistry.ModelVersion;
import org.mlflow.api.proto.ModelRegistry.ModelVersionStatus;
import org.mlflow.api.proto.ModelRegistry.ModelVersionTag;
import org.mlflow.api.proto.ModelRegistry.RegisteredModel;
import org.mlflow.api.proto.ModelRegistry.RegisteredModelTag;
import org.mlflow.api.proto.ModelRegistry.SearchModelVersions;
import org.mlflow.api.proto.ModelRegistry.SearchRegisteredModels;
import org.mlflow.api.proto.ModelRegistry.SetRegisteredModelAlias;
import org.mlflow.api.proto.Service.Experiment;
import org.mlflow.api.proto.Service.GetRun;
import org.mlflow.api.proto.Service.Run;
import org.mlflow.api.proto.Service.RunInfo;
import org.mlflow.api.proto.Service.RunStatus;
import org.mlflow.tracking.MlflowClient;
import org.mlflow.tracking.MlflowHttpException;
import org.mlflow.tracking.ModelVersionsPage;
import org.mlflow.tracking.creds.BasicMlflowHostCreds;
import org.mlflow_project.google.protobuf.Message;
import org.mlflow_project.google.protobuf.MessageOrBuilder;
import org.mlflow_project.google.protobuf.util.JsonFormat;

public class MlflowJavaClientCheck {
  static String url;
  static String token;
  static final HttpClient http = HttpClient.newHttpClient();

  static void check(boolean ok, String what) {
    if (!ok) throw new AssertionError("FAILED: " + what);
    System.out.println("ok " + what);
  }

  /** Strict parse: a field MLflow's proto does not have fails. */
  static <B extends Message.Builder> B strict(String json, B builder) throws Exception {
    JsonFormat.parser().merge(json, builder);
    return builder;
  }

  static String json(MessageOrBuilder m) throws Exception {
    return JsonFormat.printer().print(m);
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  static HttpRequest.Builder req(String u) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(u));
    if (token != null) b.header("Authorization", "Bearer " + token);
    return b;
  }

  static HttpResponse<byte[]> send(HttpRequest r) throws Exception {
    return http.send(r, HttpResponse.BodyHandlers.ofByteArray());
  }

  static String artifactsBase() {
    return url + "/api/2.0/mlflow-artifacts/artifacts";
  }

  static String pathOf(String mlflowArtifactsUri) {
    check(mlflowArtifactsUri.startsWith("mlflow-artifacts:/"), "artifact URI is mlflow-artifacts: (" + mlflowArtifactsUri + ")");
    return mlflowArtifactsUri.substring("mlflow-artifacts:/".length()).replaceAll("^/+", "");
  }

  static void put(String path, byte[] bytes, String contentType) throws Exception {
    HttpResponse<byte[]> r = send(req(artifactsBase() + "/" + path).header("Content-Type", contentType).PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)).build());
    check(r.statusCode() == 200, "PUT mlflow-artifacts " + path + " → 200 (got " + r.statusCode() + " " + new String(r.body(), StandardCharsets.UTF_8) + ")");
  }

  static byte[] get(String path) throws Exception {
    HttpResponse<byte[]> r = send(req(artifactsBase() + "/" + path).GET().build());
    check(r.statusCode() == 200, "GET mlflow-artifacts " + path + " → 200 (got " + r.statusCode() + ")");
    return r.body();
  }

  static List<MlflowArtifacts.FileInfo> list(String path) throws Exception {
    HttpResponse<byte[]> r = send(req(artifactsBase() + "?path=" + enc(path)).GET().build());
    check(r.statusCode() == 200, "list mlflow-artifacts " + path + " → 200");
    return strict(new String(r.body(), StandardCharsets.UTF_8), MlflowArtifacts.ListArtifacts.Response.newBuilder()).build().getFilesList();
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  /** What MLflow does for models:/NAME@ALIAS: get-by-alias, get-download-uri, then the artifact repository of that URI. */
  static byte[] loadModelsUri(MlflowClient c, String name, String alias) throws Exception {
    ModelVersion mv = strict(c.sendGet("registered-models/alias?name=" + enc(name) + "&alias=" + enc(alias)), GetModelVersionByAlias.Response.newBuilder()).build().getModelVersion();
    check(mv.getAliasesList().contains(alias), "models:/" + name + "@" + alias + " → version " + mv.getVersion() + " carries the alias");
    String dl = c.getModelVersionDownloadUri(name, mv.getVersion());
    String dir = pathOf(dl);
    List<MlflowArtifacts.FileInfo> files = list(dir);
    check(files.stream().anyMatch(f -> f.getPath().equals("MLmodel") && !f.getIsDir()), "the download URI " + dl + " holds an MLmodel (" + files + ")");
    String mlmodel = new String(get(dir + "/MLmodel"), StandardCharsets.UTF_8);
    // the onnx flavor's data file (MLmodel is YAML; read the `data:` line under `onnx:`)
    String data = null;
    boolean inOnnx = false;
    for (String line : mlmodel.split("\n")) {
      if (line.matches("^  onnx:\\s*$")) inOnnx = true;
      else if (line.matches("^  \\S.*")) inOnnx = false;
      else if (inOnnx && line.matches("^    data:\\s*\\S+\\s*$")) data = line.replaceFirst("^    data:\\s*", "").trim();
    }
    check(data != null, "the MLmodel has an onnx flavor with its data file (" + data + ")");
    final String dataFile = data;
    MlflowArtifacts.FileInfo onnxInfo = files.stream().filter(f -> f.getPath().equals(dataFile)).findFirst().orElseThrow();
    byte[] onnx = get(dir + "/" + data);
    check(onnx.length == onnxInfo.getFileSize(), "the listed file_size equals the bytes downloaded (" + onnx.length + ")");
    return onnx;
  }

  public static void main(String[] args) throws Exception {
    url = args[0].replaceAll("/+$", "");
    byte[] onnx = Files.readAllBytes(Path.of(args[1]));
    String name = args[2];
    String nativeName = args[3];
    String nativeSha = args[4];
    token = System.getenv("WATTFLOW_TOKEN");
    MlflowClient c = token != null ? new MlflowClient(new BasicMlflowHostCreds(url, token)) : new MlflowClient(url);

    // ---- experiment and run (the client's own methods; getExperimentByName maps 404 RESOURCE_DOES_NOT_EXIST to empty)
    String expName = "wattflow-java-" + name;
    Optional<Experiment> none = c.getExperimentByName(expName);
    check(none.isEmpty(), "getExperimentByName of a missing experiment → empty (RESOURCE_DOES_NOT_EXIST understood)");
    String expId = c.createExperiment(expName);
    check(c.getExperimentByName(expName).orElseThrow().getExperimentId().equals(expId), "createExperiment then getExperimentByName → id " + expId);
    check(c.getExperiment(expId).getArtifactLocation().startsWith("mlflow-artifacts:/"), "getExperiment: artifact location is mlflow-artifacts:");
    RunInfo run = c.createRun(expId);
    String runId = run.getRunId();
    c.logParam(runId, "model", "LinearRegression");
    c.logMetric(runId, "mae", 1.25);
    c.setTag(runId, "framework", "scikit-learn");

    // ---- the MLflow model layout of mlflow.onnx.log_model, uploaded through the artifact proxy
    String modelDir = pathOf(run.getArtifactUri()) + "/model";
    String mlmodel = String.join("\n",
        "artifact_path: model",
        "flavors:",
        "  onnx:",
        "    code: null",
        "    data: model.onnx",
        "    onnx_version: 1.16.1",
        "    providers:",
        "    - CPUExecutionProvider",
        "  python_function:",
        "    data: model.onnx",
        "    loader_module: mlflow.onnx",
        "    python_version: 3.11.7",
        "metadata:",
        "  wattflow.router_type: huawei",
        "  wattflow.features: PacketSize_B:bytes,Throughput_Percentage:fraction",
        "  sklearn_version: 1.5.2",
        "mlflow_version: 2.17.2",
        "model_uuid: 0f0e0d0c0b0a09080706050403020100",
        "run_id: " + runId,
        "utc_time_created: '2026-12-01 10:00:00.000000'",
        "");
    put(modelDir + "/MLmodel", mlmodel.getBytes(StandardCharsets.UTF_8), "application/octet-stream");
    put(modelDir + "/model.onnx", onnx, "application/octet-stream");
    put(modelDir + "/requirements.txt", "onnx\nonnxruntime\n".getBytes(StandardCharsets.UTF_8), "text/plain");
    List<MlflowArtifacts.FileInfo> logged = list(modelDir);
    check(logged.size() == 3 && logged.stream().allMatch(f -> !f.getIsDir()), "list of the model directory: 3 files (" + logged.size() + ")");
    check(list(pathOf(run.getArtifactUri())).stream().anyMatch(f -> f.getPath().equals("model") && f.getIsDir()), "list of the run's artifacts: directory model");
    c.setTerminated(runId);
    Run got = strict(c.sendGet("runs/get?run_id=" + runId), GetRun.Response.newBuilder()).build().getRun();
    check(got.getInfo().getStatus() == RunStatus.FINISHED && got.getInfo().hasEndTime(), "setTerminated → run FINISHED with an end time");
    check(got.getData().getParamsList().stream().anyMatch(p -> p.getKey().equals("model") && p.getValue().equals("LinearRegression")), "getRun: the logged param");
    check(got.getData().getMetricsList().stream().anyMatch(m -> m.getKey().equals("mae") && m.getValue() == 1.25), "getRun: the logged metric");
    check(c.getRun(runId).getData().getTagsList().stream().anyMatch(t -> t.getKey().equals("framework")), "getRun (client method): the tag");

    // ---- registered model (the client has no create method: its proto message, sent with sendPost)
    String created = c.sendPost("registered-models/create", json(CreateRegisteredModel.newBuilder().setName(name).setDescription("scikit-learn LinearRegression via skl2onnx").addTags(RegisteredModelTag.newBuilder().setKey("team").setValue("net"))));
    RegisteredModel rm = strict(created, CreateRegisteredModel.Response.newBuilder()).build().getRegisteredModel();
    check(rm.getName().equals(name) && rm.getCreationTimestamp() > 0 && rm.getTagsCount() == 1, "registered-models/create → RegisteredModel " + name);
    try {
      c.sendPost("registered-models/create", json(CreateRegisteredModel.newBuilder().setName(name)));
      check(false, "a second create is refused");
    } catch (MlflowHttpException e) {
      check(e.getStatusCode() == 400 && e.getBodyMessage().contains("\"error_code\":\"RESOURCE_ALREADY_EXISTS\""), "a second create → 400 RESOURCE_ALREADY_EXISTS (" + e.getBodyMessage() + ")");
    }

    // ---- model version from the run (what mlflow.register_model("runs:/<id>/model", name) sends)
    String mvJson = c.sendPost("model-versions/create", json(CreateModelVersion.newBuilder().setName(name).setSource("runs:/" + runId + "/model").setRunId(runId).setDescription("first").addTags(ModelVersionTag.newBuilder().setKey("stage-note").setValue("lab"))));
    ModelVersion mv = strict(mvJson, CreateModelVersion.Response.newBuilder()).build().getModelVersion();
    check(mv.getVersion().equals("1") && mv.getStatus() == ModelVersionStatus.READY && mv.getRunId().equals(runId), "model-versions/create → version 1 READY from runs:/" + runId + "/model (" + mvJson + ")");
    ModelVersion mv1 = c.getModelVersion(name, "1");
    check(mv1.getSource().equals("runs:/" + runId + "/model") && mv1.getDescription().equals("first") && mv1.getTagsCount() == 1, "getModelVersion: source, description, tags");
    RegisteredModel rm2 = c.getRegisteredModel(name);
    check(rm2.getLatestVersionsCount() == 1 && rm2.getLatestVersions(0).getVersion().equals("1"), "getRegisteredModel: latest_versions [1]");
    check(c.getLatestVersions(name).size() == 1, "getLatestVersions → [1]");
    check(c.getLatestVersions(name, List.of("Production")).isEmpty(), "getLatestVersions(stages=[Production]) → [] (no stages in wattflow)");
    ModelVersionsPage page = c.searchModelVersions("name='" + name + "'");
    check(page.getItems().size() == 1 && page.getItems().get(0).getName().equals(name), "searchModelVersions(name='" + name + "') → 1");
    SearchModelVersions.Response byRun = strict(c.sendGet("model-versions/search?filter=" + enc("run_id = '" + runId + "'")), SearchModelVersions.Response.newBuilder()).build();
    check(byRun.getModelVersionsCount() == 1, "model-versions/search by run_id → 1");
    String dl = c.getModelVersionDownloadUri(name, "1");
    check(dl.startsWith("mlflow-artifacts:/"), "getModelVersionDownloadUri → " + dl);
    strict(c.sendGet("model-versions/get-download-uri?name=" + enc(name) + "&version=1"), GetModelVersionDownloadUri.Response.newBuilder());
    SearchRegisteredModels.Response found = strict(c.sendGet("registered-models/search?filter=" + enc("name LIKE '" + name.substring(0, 3) + "%'") + "&max_results=10"), SearchRegisteredModels.Response.newBuilder()).build();
    check(found.getRegisteredModelsList().stream().anyMatch(m -> m.getName().equals(name)), "registered-models/search name LIKE → found");

    // ---- aliases
    strict(c.sendPost("registered-models/alias", json(SetRegisteredModelAlias.newBuilder().setName(name).setAlias("champion").setVersion("1"))), SetRegisteredModelAlias.Response.newBuilder());
    check(c.getModelVersion(name, "1").getAliasesList().contains("champion"), "set alias champion → version 1 lists it");
    check(strict(c.sendGet("registered-models/get?name=" + enc(name)), GetRegisteredModel.Response.newBuilder()).build().getRegisteredModel().getAliasesList().stream().anyMatch(a -> a.getAlias().equals("champion") && a.getVersion().equals("1")), "registered model lists alias champion → 1");

    // ---- load models:/NAME@champion as MLflow does, and the model registered with wattflow's own API
    byte[] loaded = loadModelsUri(c, name, "champion");
    check(sha256(loaded).equals(sha256(onnx)), "models:/" + name + "@champion downloads the ONNX that was logged (sha256 " + sha256(loaded).substring(0, 12) + "…)");
    byte[] nativeBytes = loadModelsUri(c, nativeName, "production");
    check(sha256(nativeBytes).equals(nativeSha), "models:/" + nativeName + "@production (registered with wattflow's own API) downloads its ONNX");
    check(c.getModelVersion(nativeName, "1").getStatus() == ModelVersionStatus.READY, "a natively registered version is an MLflow model version");

    // ---- errors: MLflow's codes and statuses
    try {
      c.getRegisteredModel("no-such-model");
      check(false, "getRegisteredModel of a missing model fails");
    } catch (MlflowHttpException e) {
      check(e.getStatusCode() == 404 && e.getBodyMessage().contains("RESOURCE_DOES_NOT_EXIST"), "missing registered model → 404 RESOURCE_DOES_NOT_EXIST");
    }
    try {
      c.getModelVersion(name, "99");
      check(false, "getModelVersion of a missing version fails");
    } catch (MlflowHttpException e) {
      check(e.getStatusCode() == 404 && e.getBodyMessage().contains("RESOURCE_DOES_NOT_EXIST"), "missing model version → 404 RESOURCE_DOES_NOT_EXIST");
    }
    try {
      c.sendPost("model-versions/create", json(CreateModelVersion.newBuilder().setName(name).setSource("s3://elsewhere/model")));
      check(false, "a source outside the artifact proxy is refused");
    } catch (MlflowHttpException e) {
      check(e.getStatusCode() == 400 && e.getBodyMessage().contains("INVALID_PARAMETER_VALUE"), "unsupported source → 400 INVALID_PARAMETER_VALUE");
    }

    // ---- delete the alias (DELETE with a JSON body, as MLflow's Python client sends it; the Java client has no DELETE)
    HttpResponse<byte[]> del = send(req(url + "/api/2.0/mlflow/registered-models/alias").header("Content-Type", "application/json").method("DELETE", HttpRequest.BodyPublishers.ofString("{\"name\":\"" + name + "\",\"alias\":\"champion\"}")).build());
    check(del.statusCode() == 200, "DELETE registered-models/alias → 200");
    try {
      c.sendGet("registered-models/alias?name=" + enc(name) + "&alias=champion");
      check(false, "get-by-alias after the delete fails");
    } catch (MlflowHttpException e) {
      check(e.getStatusCode() == 400 && e.getBodyMessage().contains("INVALID_PARAMETER_VALUE"), "alias gone → 400 INVALID_PARAMETER_VALUE");
    }
    c.close();
    System.out.println("MLFLOW-JAVA-CHECKS-PASSED");
  }
}
