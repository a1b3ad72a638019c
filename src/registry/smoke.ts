/**
 * The smoke prediction every model must pass before the registry accepts it and before a worker
 * swaps it in: three typical rows through predictWithSensitivities (the exact call the pipeline
 * makes), all of power and both variation rates finite.
 */
import { OnnxModelError } from '../ml/onnx/reader.js';
import type { OnnxPowerModel } from '../ml/runtime/onnx-power-model.js';

/** [bytes, occupation fraction] rows of the smoke prediction. */
export const SMOKE_ROWS = [
  { PacketSize_B: 64, Throughput_Percentage: 0.1 },
  { PacketSize_B: 576, Throughput_Percentage: 0.5 },
  { PacketSize_B: 1500, Throughput_Percentage: 0.9 },
] as const;

/** Throws OnnxModelError SMOKE_FAILED when a value is not finite. */
export async function smokeCheck(model: OnnxPowerModel, epsilon = 0.01): Promise<void> {
  const s = await model.predictWithSensitivities(SMOKE_ROWS, epsilon);
  for (let i = 0; i < SMOKE_ROWS.length; i++) {
    const vals = [s.power[i]!, s.dPower_dThroughput[i]!, s.dPower_dPacketSize[i]!];
    if (!vals.every(Number.isFinite)) {
      throw new OnnxModelError(
        'SMOKE_FAILED',
        `smoke prediction with sensitivities gave non-finite values (${vals.join(', ')}) for ${JSON.stringify(SMOKE_ROWS[i])}`,
      );
    }
  }
}
