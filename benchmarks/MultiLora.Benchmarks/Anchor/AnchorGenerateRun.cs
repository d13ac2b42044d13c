using System.Diagnostics;
using MultiLora.Llava.BuiltIn;
using MultiLora.Llava.Generation;
using static TorchSharp.torch;

namespace MultiLora.Benchmarks.Anchor;

/// <summary>
/// Greedy generation as hf_anchor.py's gen() times it: random bf16 weights, B prompts of a 576-token image + 40 text
/// tokens, a warm-up of 8 new tokens, then 128 new tokens (no stop token, so every row runs to the end) between two
/// device synchronisations, prefill and image encoding included; new tokens per second over the batch.
/// </summary>
public static class AnchorGenerateRun
{
    const int WarmupTokens = 8;

    public static AnchorResult Run(AnchorPreset p, Device device, ScalarType dtype, PeakMeter meter)
    {
        meter.Reset();
        manual_seed(0);
        using var model = RandomWeights.Build(p.ToConfig(), dtype, device);
        model.eval();
        long total = model.parameters().Sum(t => t.numel());
        var (prompts, pixels) = SyntheticBatch.Prompts(p, device, dtype);
        using (pixels)
        {
            LlavaGenerator.Generate(model, prompts, pixels, new GenerationOptions(MaxNewTokens: Math.Min(WarmupTokens, p.NewTokens)));
            DevicePeak.Synchronize(device);
            var clock = Stopwatch.StartNew();
            var outputs = LlavaGenerator.Generate(model, prompts, pixels, new GenerationOptions(MaxNewTokens: p.NewTokens));
            DevicePeak.Synchronize(device);
            double seconds = clock.Elapsed.TotalSeconds;
            long generated = outputs.Sum(o => (long)o.Length);
            var (allocated, used, resident) = meter.Peak();
            return new AnchorResult
            {
                Name = p.Name, Kind = "generate", Device = device.ToString(), Batch = p.Batch, Seq = p.SequenceLength, Img = p.Vision.ImageSize,
                Method = "greedy", NewTokens = p.NewTokens, TotalS = Math.Round(seconds, 3), GenTokensPerS = Math.Round(generated / seconds, 1),
                PeakGib = AnchorTrainRun.Gib(allocated), PeakDeviceUsedGib = AnchorTrainRun.Gib(used), PeakRssGib = AnchorTrainRun.Gib(resident),
                ParamsB = Math.Round(total / 1e9, 3), Memory = meter.Description,
            };
        }
    }
}
