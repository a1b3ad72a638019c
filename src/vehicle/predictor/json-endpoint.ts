/**
 * The predictor's plain JSON endpoint (push mode):
 *
 *   POST /v1/vehicle/predict   {"vectors": [AlignedVector…]} → {"model": {name, version}, "predictions": […]}
 *   GET  /v1/vehicle/model     the deployed model's metadata
 *
 * Answers once the predictions are durably written (503 when the sink failed, so the caller
 * retries; 400 names the first invalid vector). The transport is kept apart from the scoring
 * (VehiclePredictor.predict); the Open Inference Protocol / KServe V2 endpoint next to this one
 * (`POST /v2/models/{name}/infer`, tensors ↔ vectors) is v2-endpoint.ts, and what the Vehicle
 * API uses by default (vehicle.inference.protocol).
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../core/logger.js';
import type { AlignedVector } from '../align/vector.js';
import { IsolationForestModel } from '../model/anomaly-model.js';
import { checkVector, completeVector } from '../align/vector-check.js';
import type { VehiclePredictor } from './predictor.js';

export const MAX_VECTORS_PER_REQUEST = 10_000;

export function modelInfo(predictor: VehiclePredictor): Record<string, unknown> {
  const m = predictor.model;
  const info: Record<string, unknown> = { name: m.name, version: m.version, features: m.features, threshold: m.threshold, sink: predictor.sinkName };
  if (m instanceof IsolationForestModel) {
    const a = m.artifact;
    info.algorithm = a.algorithm;
    info.createdAt = a.createdAt;
    info.alignment = a.alignment;
    info.training = { files: a.training.files.map((f) => f.name), vectors: a.training.vectors, trees: a.training.trees, contamination: a.contamination };
  }
  return info;
}

export function registerPredictJson(app: FastifyInstance, predictor: VehiclePredictor, logger: Logger, opts: { predict: boolean }): void {
  app.get('/v1/vehicle/model', { config: { auth: 'read' } }, async () => modelInfo(predictor));
  if (!opts.predict) return;
  // writes the predictions to the sink: scope ingest
  app.post('/v1/vehicle/predict', { config: { auth: 'ingest' } }, async (req, reply) => {
    const body = req.body as { vectors?: unknown } | null;
    if (!body || typeof body !== 'object' || !Array.isArray(body.vectors)) return reply.code(400).send({ error: 'expected {"vectors": [...]}' });
    if (body.vectors.length > MAX_VECTORS_PER_REQUEST) return reply.code(413).send({ error: `more than ${MAX_VECTORS_PER_REQUEST} vectors in one request` });
    const vectors: AlignedVector[] = [];
    for (let i = 0; i < body.vectors.length; i++) {
      const problem = checkVector(body.vectors[i]);
      if (problem) return reply.code(400).send({ error: `vectors[${i}]: ${problem}` });
      vectors.push(completeVector(body.vectors[i] as AlignedVector));
    }
    try {
      const predictions = await predictor.predict(vectors);
      return { model: { name: predictor.model.name, version: predictor.model.version }, predictions };
    } catch (err) {
      logger.warn({ err: (err as Error).message, vectors: vectors.length }, 'prediction batch failed (sink)');
      return reply.code(503).header('retry-after', '1').send({ error: `could not write the predictions: ${(err as Error).message}` });
    }
  });
}
