/**
 * The `grpc` section of the configuration: the KServe V2 gRPC server
 * (`inference.GRPCInferenceService`, v2-grpc.ts) beside the REST one, on every process that
 * serves V2 models (inference workers, the vehicle predictor, `up`).
 */
import { Type, type Static } from '@sinclair/typebox';
import { ConfigSection, type EnvAlias } from '../../core/config.js';

export const grpcSection = ConfigSection({
  enabled: Type.Boolean({ default: true }),
  /** Listen address (default http.host). */
  host: Type.Optional(Type.String({ minLength: 1 })),
  /** Port; default http.port + 1 (8001 beside 8000, as Triton/KServe), and 0 (any free port) when http.port is 0. */
  port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  /** Largest gRPC message received or sent (bytes). */
  maxMessageBytes: Type.Integer({ minimum: 1024, default: 4 * 1024 * 1024 }),
});
export type GrpcConfig = Static<typeof grpcSection>;

export const grpcAliases: EnvAlias[] = [{ env: 'GRPC_PORT', path: '/grpc/port' }];
