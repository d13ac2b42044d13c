using MultiLora.Core.Safetensors;
using MultiLora.Llava.Model;
using MultiLora.Lora.Quantization;
using static TorchSharp.torch;

namespace MultiLora.Llava.Checkpoints;

/// <summary>
/// Quantize-on-load for a LLaVA built on the meta device: each language-model linear is read from the
/// checkpoint, quantized and swapped in before the next is read, so peak memory holds one
/// full-precision weight, never the language model (what lets a model bigger than RAM in bf16 load as
/// NF4). The selection is <see cref="Quantizer.QuantizeLinears"/>' on "model.language_model." (the
/// config's skips apply; lm_head lies outside the prefix).
/// </summary>
static class QuantizeOnLoad
{
    /// <param name="map">checkpoint key to module name (the layout mapping the rest of the load uses)</param>
    /// <returns>the module paths now quantized (their tensors are no longer for a <see cref="WeightLoader"/>)</returns>
    /// <param name="device">the model's target device: quantizing happens there (the rest of the model moves after loading)</param>
    public static IReadOnlyCollection<string> Apply(LlavaForConditionalGeneration model, SafetensorsCheckpoint checkpoint, Func<string, string?> map, QuantConfig? cfg, Device device) =>
        cfg is null ? [] : Quantizer.QuantizeFromCheckpoint(model, checkpoint, KeyLayout.LanguageRoot, cfg, KeyFor(checkpoint, map), device);

    /// <summary>
    /// The reverse of <paramref name="map"/> over this checkpoint's keys. A weight the checkpoint lacks is
    /// named by the key its layout would give it (the language prefix the other keys use), so the error
    /// names the key the user would look for.
    /// </summary>
    static Func<string, string> KeyFor(SafetensorsCheckpoint checkpoint, Func<string, string?> map)
    {
        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        string? prefix = null;
        foreach (var key in checkpoint.Names.Order(StringComparer.Ordinal))
        {
            if (KeyLayout.IsIgnorable(key) || map(key) is not { } name) continue;
            byName.TryAdd(name, key);
            if (prefix is null && name.StartsWith(KeyLayout.LanguageRoot, StringComparison.Ordinal))
                prefix = key[..^(name.Length - KeyLayout.LanguageRoot.Length)];
        }
        return name => byName.TryGetValue(name, out var key) ? key
            : prefix is not null && name.StartsWith(KeyLayout.LanguageRoot, StringComparison.Ordinal) ? prefix + name[KeyLayout.LanguageRoot.Length..]
            : name;
    }
}
