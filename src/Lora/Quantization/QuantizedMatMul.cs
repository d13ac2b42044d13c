using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Lora.Quantization;

/// <summary>
/// y = x W^T for a quantized W, as bitsandbytes' MatMul4Bit does it: the weight is dequantized inside
/// forward and again inside backward, so autograd never holds a full-precision copy between the two
/// (that is what makes QLoRA fit). The weight gets no gradient; the input does.
/// </summary>
internal sealed class QuantizedMatMul : autograd.SingleTensorFunction<QuantizedMatMul>
{
    const string LayerKey = "layer";

    public override string Name => nameof(QuantizedMatMul);

    public static Tensor Apply(Tensor input, IQuantizedLinear layer) => apply(input, layer);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var input = (Tensor)vars[0];
        var layer = (IQuantizedLinear)vars[1];
        ctx.save_data(LayerKey, layer);
        using var weight = layer.DequantizeWeight(input.dtype);
        return nn.functional.linear(input, weight);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        var layer = (IQuantizedLinear)ctx.get_data(LayerKey);
        using var weight = layer.DequantizeWeight(grad_output.dtype);
        return [grad_output.matmul(weight), null!];
    }
}
