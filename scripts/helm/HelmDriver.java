/*
 * The real Helm engine for wattflow's chart tests, without a Helm binary or a cluster:
 * helm-java (com.marcnuri.helm-java:helm-java) embeds Helm's Go library (lint, template, …).
 * Run with Java 17's single-file source launcher and the classpath that
 * scripts/services/helm.sh resolves from Maven Central:
 *
 *   java -cp "$(cat <classpath file>)" scripts/helm/HelmDriver.java < jobs
 *
 * One JVM serves many jobs (loading Helm's native library costs about a second). Jobs come
 * on stdin, one per line, fields separated by TABs: an id, an operation, then key=value pairs
 * (a key may repeat: `values`).
 *
 *   <id>  version
 *   <id>  lint      chart=DIR [strict=true]
 *   <id>  template  chart=DIR [name=RELEASE] [namespace=NS] [kubeVersion=1.31.0] [values=FILE]…
 *
 * Each answer is a header line, then exactly <bytes> bytes of UTF-8 payload, then a newline:
 *
 *   @@wattflow-helm <id> ok|error <bytes>
 *
 * version: Helm's version; lint: "failed=true|false" then one message per line; template: the
 * rendered manifests; error: Helm's message (e.g. a values.schema.json violation naming the
 * field). scripts/deploy/helm.ts drives it from Node.
 */
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintCommand;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public class HelmDriver {
  public static void main(String[] args) throws Exception {
    PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isBlank()) continue;
      String[] f = line.split("\t");
      String id = f[0];
      String op = f.length > 1 ? f[1] : "";
      Map<String, List<String>> kv = new LinkedHashMap<>();
      for (int i = 2; i < f.length; i++) {
        int eq = f[i].indexOf('=');
        if (eq < 0) continue;
        kv.computeIfAbsent(f[i].substring(0, eq), k -> new ArrayList<>()).add(f[i].substring(eq + 1));
      }
      String status = "ok";
      String payload;
      try {
        payload = run(op, kv);
      } catch (Throwable t) {
        status = "error";
        payload = t.getMessage() == null ? t.toString() : t.getMessage();
      }
      byte[] bytes = payload.getBytes(StandardCharsets.UTF_8);
      out.print("@@wattflow-helm " + id + " " + status + " " + bytes.length + "\n");
      out.write(bytes);
      out.print("\n");
      out.flush();
    }
  }

  static String one(Map<String, List<String>> kv, String key, String dflt) {
    List<String> v = kv.get(key);
    return v == null || v.isEmpty() ? dflt : v.get(v.size() - 1);
  }

  static String run(String op, Map<String, List<String>> kv) {
    switch (op) {
      case "version":
        return Helm.version().call();
      case "lint": {
        LintCommand lint = new Helm(Path.of(one(kv, "chart", "."))).lint();
        if ("true".equals(one(kv, "strict", "false"))) lint = lint.strict();
        LintResult r = lint.call();
        StringBuilder sb = new StringBuilder("failed=" + r.isFailed() + "\n");
        for (String m : r.getMessages()) sb.append(m.replace('\n', ' ')).append('\n');
        return sb.toString();
      }
      case "template": {
        TemplateCommand t = new Helm(Path.of(one(kv, "chart", "."))).template()
            .withName(one(kv, "name", "wattflow"))
            .withNamespace(one(kv, "namespace", "wattflow"));
        String kube = one(kv, "kubeVersion", null);
        if (kube != null) t = t.withKubeVersion(kube);
        for (String v : kv.getOrDefault("values", List.of())) t = t.withValuesFile(Path.of(v));
        return t.call();
      }
      default:
        throw new IllegalArgumentException("unknown operation \"" + op + "\" (version, lint, template)");
    }
  }
}
