using System.Diagnostics;
using MultiLora.Core.Optim;
using MultiLora.Llava.BuiltIn;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Lora.Quantization;
using static TorchSharp.torch;

namespace MultiLora.Benchmarks.Anchor;

/// <summary>
/// Training steps of a preset as hf_anchor.py times them: random weights (meta build, materialised on the device),
/// the method applied as the trainer applies it (TrainingSetup: LoRA on every decoder linear, projector trained,
/// tower frozen; or full fine-tuning; QLoRA over NF4 + double quantization), bf16 model with float32 LoRA and
/// projector masters computing in bf16 (autocast, as hf_anchor.py runs peft), the loss over the scored positions
/// (the LM head on those rows only; same value as over full logits), our AdamW (issue 15), gradient clipping at 1.0 as the trainer
/// does; each step forward + backward + clip + step + zero_grad between two device synchronisations, the batch's
/// image-token count and scored positions known on the host (no device reads); the median after 2 warm-up steps.
/// </summary>
public static class AnchorTrainRun
{
    public const int WarmupSteps = 2;

    public static AnchorResult Run(AnchorPreset p, Device device, ScalarType dtype, int steps, PeakMeter meter, double? peakTflops)
    {
        meter.Reset();
        manual_seed(0);
        var recipe = Recipe(p, dtype);
        using var model = RandomWeights.Build(p.ToConfig(), dtype, device, TrainingSetup.Quantization(recipe));
        long total = model.parameters().Sum(t => t.numel()) + model.buffers().Sum(t => t.numel());
        var trainable = TrainingSetup.Apply(model, recipe);
        model.model.language_model.GradientCheckpointing = p.GradientCheckpointing;
        model.train();
        var parameters = trainable.All.Select(t => t.Parameter).ToList();
        // the trainer's optimizer (one group: every row trains at one learning rate)
        using var optimizer = new AdamW([new AdamWGroup(trainable.All.ToList(), recipe.Optim.Lr, recipe.Optim.Beta1, recipe.Optim.Beta2, recipe.Optim.Eps, recipe.Optim.WeightDecay)]);
        using var batch = SyntheticBatch.Train(p, device, model.model.vision_tower.parameters().First().dtype);

        var times = new List<double>();
        using var lastLoss = zeros(1, dtype: ScalarType.Float32, device: device);
        for (int s = 0; s < steps; s++)
        {
            DevicePeak.Synchronize(device);
            var clock = Stopwatch.StartNew();
            using (var scope = NewDisposeScope())
            {
                var hidden = model.HiddenStates(batch.InputIds, batch.Pixels, imageTokens: batch.ImageTokens);
                var loss = CausalLmLoss.ComputeScored(hidden, model.lm_head, batch.ScoredRows, batch.ScoredTargets);
                loss.backward();
                Gradients.ClipGradNormOnDevice(parameters, recipe.Optim.MaxGradNorm);   // as the trainer: the norm is not read back
                optimizer.Step();
                Gradients.SetToNone(parameters);
                using (no_grad()) lastLoss.copy_(loss.detach().reshape(1));
            }
            DevicePeak.Synchronize(device);
            times.Add(clock.Elapsed.TotalSeconds);
        }
        double step = Median(times.Skip(Math.Min(WarmupSteps, times.Count - 1)));
        var (allocated, used, resident) = meter.Peak();
        double finalLoss = lastLoss.item<float>();
        return new AnchorResult
        {
            Name = p.Name, Kind = "train", Device = device.ToString(), Batch = p.Batch, Seq = p.SequenceLength, Img = p.Vision.ImageSize,
            LoraR = p.LoraRank, GradCkpt = p.GradientCheckpointing, Method = p.Method,
            StepS = Math.Round(step, 4), SamplesPerS = Math.Round(p.Batch / step, 2), TokensPerS = Math.Round(p.Batch * p.SequenceLength / step),
            PeakGib = Gib(allocated), PeakDeviceUsedGib = Gib(used), PeakRssGib = Gib(resident),
            ParamsB = Math.Round(total / 1e9, 3), TrainableM = Math.Round(trainable.Count / 1e6, 1),
            MatmulPeakTflops = peakTflops is null ? null : Math.Round(peakTflops.Value, 4),
            Mfu = AnchorFlops.Mfu(p, step, peakTflops) is { } mfu ? Math.Round(mfu, 4) : null,
            FinalLoss = Math.Round(finalLoss, 4), StepTimes = times.Select(t => Math.Round(t, 4)).ToList(), Memory = meter.Description,
        };
    }

    /// <summary>The recipe the trainer would run for this row (hf_anchor.py: lr 2e-4 for LoRA, 2e-5 for full; LoRA alpha 2r, dropout 0.05).</summary>
    public static TrainRecipe Recipe(AnchorPreset p, ScalarType dtype) => new()
    {
        Method = p.Method,
        Dtype = dtype == ScalarType.BFloat16 ? "bfloat16" : dtype == ScalarType.Float16 ? "float16" : "float32",
        Lora = new LoraSection { Rank = Math.Max(1, p.LoraRank), Dropout = 0.05 },
        Quant = new QuantSection { Type = "nf4", DoubleQuant = true },
        GradientCheckpointing = p.GradientCheckpointing,
        ScoredLogitsOnly = true,   // what the loop below computes (the trainer with scored_logits_only: true)
        Optim = new OptimSection { Lr = p.Method == "full" ? 2e-5 : 2e-4, MaxGradNorm = 1.0 },
        Autocast = true,   // hf_anchor.py runs peft under torch.autocast(bf16)
    };

    internal static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    internal static double? Gib(long? bytes) => bytes is null ? null : Math.Round(bytes.Value / AnchorResult.GiB, 2);
}
