/**
 * What the inference stage asks of a power model, whatever it is (the formula "dummy" or a
 * trained ONNX model): predictions of power and both sensitivities for a batch of feature rows.
 */
export interface PowerFeatures {
  /** Capacity occupation as a fraction 0..1 (the reference's x / Throughput_Percentage). */
  occupation: number;
  /** Average packet length in bytes (the reference's y / PacketSize_B). */
  packetLength: number;
}

export interface PowerPrediction {
  power: number;
  /** ∂power/∂occupation (per unit of the fraction). */
  dPowerDOccupation: number;
  /** ∂power/∂packet length (per byte). */
  dPowerDPacketLength: number;
}

export interface ModelInfo {
  /** 'dummy' or the model type of a trained model (linear, polynomial, rf, mlp, …). */
  model_type: string;
  /** Model name (dummy: `dummy:<router_type>`). */
  model: string;
  version: string;
  /** The router type the model is for (dummy: the formula's router type; a trained model: its metadata's). */
  router_type?: string;
}

export interface PowerPredictor {
  readonly info: ModelInfo;
  predict(rows: PowerFeatures[]): Promise<PowerPrediction[]>;
}

/** Chooses the predictor of a router (by router type and model type); throws when none fits. */
export type PredictorResolver = (router: { id: string; routerType: string; modelType: string }) => PowerPredictor;
