using static TorchSharp.torch;

namespace MultiLora.Lora.Quantization;

/// <summary>A frozen linear layer whose weight is stored quantized and rebuilt on demand.</summary>
public interface IQuantizedLinear
{
    long InFeatures { get; }
    long OutFeatures { get; }

    /// <summary>The [out, in] weight rebuilt in <paramref name="dtype"/>; a fresh tensor the caller disposes.</summary>
    Tensor DequantizeWeight(ScalarType dtype);

    /// <summary>Replaces the stored weight by the quantization of <paramref name="weight"/> (used to merge LoRA into a quantized base).</summary>
    void Requantize(Tensor weight);

    /// <summary>The bias (kept in full precision), or null.</summary>
    TorchSharp.Modules.Parameter? Bias { get; }

    /// <summary>Bytes of all stored tensors (quantized weight, statistics, bias).</summary>
    long StorageBytes { get; }
}
