using MultiLora.Core.Tensors;
using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Model;
using MultiLora.Lora.Quantization;
using MultiLora.Lora.Surgery;
using static TorchSharp.torch;

namespace MultiLora.Llava.BuiltIn;

/// <summary>
/// A LLaVA of any shape with random weights, without a checkpoint: built on the meta device (shapes only, no
/// memory), then each parameter allocated on the target device and initialised there, one tensor at a time, as
/// transformers' _init_weights does (see <see cref="Initialise"/>). With a quantization config the language
/// model's linears are drawn and quantized layer by layer, so a 7B QLoRA model never holds its bf16 weights.
/// What benchmarks use to run the shapes of real models (CLIP-L + 7B) with no download.
/// </summary>
public static class RandomWeights
{
    public const double InitStd = 0.02;

    /// <param name="quantizeLanguage">NF4/int8 for the language model's linears (QLoRA), or null</param>
    public static LlavaForConditionalGeneration Build(LlavaConfig config, ScalarType dtype, Device device, QuantConfig? quantizeLanguage = null)
    {
        var model = new LlavaForConditionalGeneration(config, dtype, META);
        try
        {
            using var _ = no_grad();
            if (quantizeLanguage is not null)
                Quantizer.QuantizeFrom(model, KeyLayout.LanguageRoot, quantizeLanguage, (path, linear) =>
                    (Drawn(path + ".weight", linear.weight.shape, linear.weight.dtype, device),
                     linear.bias is null ? null : Drawn(path + ".bias", linear.bias.shape, linear.bias.dtype, device)));
            foreach (var (name, p) in model.named_parameters().ToList())
                if (p.is_meta) ParameterSwap.Set(model, name, Drawn(name, p.shape, p.dtype, device), requiresGrad: false);
            if (model.named_buffers().FirstOrDefault(b => b.buffer.is_meta) is { name: { } unset })
                throw new InvalidOperationException($"buffer {unset} has no initialisation rule");
            model.TieWeights();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    static Tensor Drawn(string name, long[] shape, ScalarType dtype, Device device)
    {
        var t = empty(shape, dtype: dtype, device: device);
        Initialise(name, t);
        return t;
    }

    /// <summary>transformers' _init_weights: norm weights 1, biases 0, every other weight ~ N(0, 0.02). In place.</summary>
    public static void Initialise(string name, Tensor t)
    {
        using var _ = no_grad();
        if (name.Contains("norm", StringComparison.Ordinal)) { if (name.EndsWith("weight", StringComparison.Ordinal)) t.fill_(Scalars.One); else t.zero_(); }
        else if (name.EndsWith("bias", StringComparison.Ordinal)) t.zero_();
        else t.normal_(0, InitStd);
    }
}
