using MultiLora.Language;
using MultiLora.Vision;

namespace MultiLora.Benchmarks.Anchor;

/// <summary>
/// Model FLOPs of one training step of a preset, for MFU. The convention behind issue 16's "about 33% MFU" for HF's
/// 7B row: 6 FLOPs per matmul parameter per token for the language model (forward + both backward matmuls, counted
/// as for full training whatever is frozen; recomputation under checkpointing not counted), attention's score and
/// value products (12 x layers x width x length^2 per sequence, forward + backward), the frozen vision tower's
/// forward (2 per parameter per token plus its attention, for the layers LLaVA runs) and the projector (6 per
/// parameter per image token). The comparison table applies the same formula to both sides' step times.
/// </summary>
public static class AnchorFlops
{
    public static double TrainStep(AnchorPreset p)
    {
        double b = p.Batch, s = p.SequenceLength;
        var lm = p.Language;
        double lmMatmul = LanguageMatmulParameters(lm) + (double)lm.VocabSize * lm.HiddenSize;   // + lm_head
        double lora = p.Method is "lora" or "qlora" ? LoraParameters(lm, p.LoraRank) : 0;
        double language = 6 * (lmMatmul + lora) * b * s + 12.0 * lm.NumLayers * lm.NumHeads * lm.HeadDim * s * s * b;

        var v = p.Vision;
        int layersRun = v.NumLayers - 1;   // vision_feature_layer -2: the last layer does not run
        double visionTokens = v.GridSize * v.GridSize + 1;
        double patch = 2.0 * v.NumChannels * v.PatchSize * v.PatchSize * v.HiddenSize * (visionTokens - 1);
        double vision = b * (patch + layersRun * (2 * VisionLayerMatmul(v) * visionTokens + 4.0 * v.HiddenSize * visionTokens * visionTokens));

        double projector = 6.0 * ((double)v.HiddenSize * lm.HiddenSize + (double)lm.HiddenSize * lm.HiddenSize) * b * p.ImageTokens;
        return language + vision + projector;
    }

    /// <summary>Decoder matmul weights (q, k, v, o, gate, up, down per layer).</summary>
    public static double LanguageMatmulParameters(LlamaConfig c)
    {
        double h = c.HiddenSize, q = (double)c.NumHeads * c.HeadDim, kv = (double)c.NumKeyValueHeads * c.HeadDim;
        return c.NumLayers * (h * q + 2 * h * kv + q * h + 3 * h * c.IntermediateSize);
    }

    /// <summary>LoRA A and B of every decoder linear at rank r.</summary>
    public static double LoraParameters(LlamaConfig c, int r)
    {
        double h = c.HiddenSize, q = (double)c.NumHeads * c.HeadDim, kv = (double)c.NumKeyValueHeads * c.HeadDim, i = c.IntermediateSize;
        return c.NumLayers * r * ((h + q) + 2 * (h + kv) + (q + h) + 2 * (h + i) + (i + h));
    }

    static double VisionLayerMatmul(ClipVisionConfig v) => 4.0 * v.HiddenSize * v.HiddenSize + 2.0 * v.HiddenSize * v.IntermediateSize;

    /// <summary>Model FLOPs per second over the device's measured matmul peak (0..1), or null without a peak.</summary>
    public static double? Mfu(AnchorPreset p, double stepSeconds, double? peakTflops) =>
        p.Kind != AnchorKind.Train || peakTflops is not > 0 || stepSeconds <= 0 ? null : TrainStep(p) / stepSeconds / (peakTflops.Value * 1e12);
}
