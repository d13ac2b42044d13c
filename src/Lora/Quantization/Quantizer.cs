using MultiLora.Core.Safetensors;
using MultiLora.Lora.Surgery;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MultiLora.Lora.Quantization;

/// <summary>Turns full-precision linears into quantized ones, layer by layer, so peak memory stays near one layer's weight.</summary>
public static class Quantizer
{
    /// <summary>
    /// Quantize-on-load: builds the quantized module for a linear weight (and bias) and, when
    /// <paramref name="disposeInput"/>, disposes the full-precision tensors right away.
    /// </summary>
    public static Module<Tensor, Tensor> FromWeight(Tensor weight, Tensor? bias, QuantConfig cfg, bool disposeInput = true)
    {
        Module<Tensor, Tensor> layer = cfg.Type switch
        {
            QuantType.Nf4 => Nf4Linear.FromWeight(weight, bias, cfg.BlockSize, cfg.DoubleQuant),
            QuantType.Int8 => Int8Linear.FromWeight(weight, bias),
            _ => throw new ArgumentException($"quantization type {cfg.Type} is not supported"),
        };
        if (disposeInput) { weight.Dispose(); bias?.Dispose(); }
        return layer;
    }

    /// <summary>
    /// Replaces every nn.Linear under <paramref name="prefix"/> (e.g. "model.language_model.") that the
    /// config does not skip by its quantized version, disposing each original after its replacement.
    /// Returns the replaced module paths.
    /// </summary>
    public static List<string> QuantizeLinears(Module root, string prefix, QuantConfig cfg)
    {
        var targets = Targets(root, prefix, cfg);
        var done = new List<string>(targets.Count);
        foreach (var (path, module) in targets)
        {
            var linear = (Linear)module;
            var quantized = FromWeight(linear.weight, linear.bias, cfg, disposeInput: false);
            ModuleSurgery.Replace(root, path, quantized);
            linear.Dispose();
            done.Add(path);
        }
        return done;
    }

    /// <summary>
    /// Quantize-on-load: for every nn.Linear under <paramref name="prefix"/> that the config does not
    /// skip, reads its weight (and bias) from the checkpoint, quantizes it, swaps the module in and
    /// disposes both the read tensor and the placeholder linear, one layer at a time. The placeholder
    /// may live on the meta device (no memory): the weight is then read and quantized on the CPU.
    /// Weights are read in the placeholder's dtype, so the result is bit-identical to loading the
    /// model and then calling <see cref="QuantizeLinears"/>.
    /// <paramref name="checkpointKey"/> maps a module tensor name to the checkpoint's (identity by default).
    /// </summary>
    /// <param name="quantizeOn">where to quantize and keep the result (the model's target device: a GPU quantizes
    /// far faster than the CPU); null: the placeholder's device, or the CPU for a meta placeholder</param>
    public static List<string> QuantizeFromCheckpoint(Module root, SafetensorsCheckpoint checkpoint, string prefix, QuantConfig cfg,
                                                      Func<string, string>? checkpointKey = null, Device? quantizeOn = null)
    {
        checkpointKey ??= k => k;
        return QuantizeFrom(root, prefix, cfg, (path, linear) =>
        {
            string wKey = checkpointKey(path + ".weight");
            if (!checkpoint.Contains(wKey)) throw new InvalidDataException($"{checkpoint.Origin}: checkpoint has no tensor '{wKey}' for module '{path}'");
            var entry = checkpoint.Entry(wKey);
            if (!entry.Shape.SequenceEqual(linear.weight.shape))
                throw new InvalidDataException($"{entry.File}: key '{wKey}' has shape [{string.Join(", ", entry.Shape)}] but the model expects [{string.Join(", ", linear.weight.shape)}]");
            string? bKey = linear.bias is null ? null : checkpointKey(path + ".bias");
            if (bKey is not null && !checkpoint.Contains(bKey))
                throw new InvalidDataException($"{checkpoint.Origin}: checkpoint has no tensor '{bKey}' for module '{path}'");
            var device = quantizeOn ?? (linear.weight.is_meta ? CPU : linear.weight.device);
            return (MoveTo(checkpoint.Load(wKey, linear.weight.dtype), device), bKey is null ? null : MoveTo(checkpoint.Load(bKey, linear.bias!.dtype), device));
        });
    }

    /// <summary>
    /// Quantize-on-load from any source of weights: for every nn.Linear under <paramref name="prefix"/> that the
    /// config does not skip, <paramref name="source"/> gives its full-precision weight (and bias) for the placeholder
    /// linear at that path (which may live on the meta device); the weight is quantized where it lies, the module
    /// swapped in, and the weight, bias and placeholder disposed before the next layer, so at most one layer's
    /// full-precision weight exists at a time. Returns the replaced module paths.
    /// </summary>
    public static List<string> QuantizeFrom(Module root, string prefix, QuantConfig cfg, Func<string, Linear, (Tensor Weight, Tensor? Bias)> source)
    {
        var targets = Targets(root, prefix, cfg);
        var done = new List<string>(targets.Count);
        foreach (var (path, module) in targets)
        {
            var linear = (Linear)module;
            var (weight, bias) = source(path, linear);
            var quantized = FromWeight(weight, bias, cfg, disposeInput: true);
            ModuleSurgery.Replace(root, path, quantized);
            linear.Dispose();
            done.Add(path);
        }
        return done;
    }

    /// <summary>The tensor on <paramref name="device"/>; the original is disposed when the move made a copy.</summary>
    static Tensor MoveTo(Tensor t, Device device)
    {
        var moved = t.to(device);
        if (!ReferenceEquals(moved, t)) t.Dispose();
        return moved;
    }

    /// <summary>The nn.Linear modules under <paramref name="prefix"/> the config does not skip; LoRA's own
    /// matrices (lora_A / lora_B) are trainable and never quantized.</summary>
    static List<(string Path, Module Module)> Targets(Module root, string prefix, QuantConfig cfg) =>
        ModuleSurgery.Find(root, (path, m) => m is Linear && path.StartsWith(prefix, StringComparison.Ordinal) && !cfg.Skips(path)
            && !path.Contains(".lora_A.", StringComparison.Ordinal) && !path.Contains(".lora_B.", StringComparison.Ordinal));
}
