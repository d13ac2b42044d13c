using MultiLora.Core.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiLora.Vision;

/// <summary>Pre-norm transformer block: x + attn(ln1(x)), then x + mlp(ln2(x)).</summary>
public sealed class ClipEncoderLayer : nn.Module<Tensor, Tensor>
{
    public ClipAttention self_attn;
    public LayerNorm layer_norm1, layer_norm2;
    public ClipMlp mlp;

    public ClipEncoderLayer(ClipVisionConfig c, ScalarType dtype, Device? device = null) : base(nameof(ClipEncoderLayer))
    {
        self_attn = new ClipAttention(c, dtype, device);
        layer_norm1 = nn.LayerNorm(c.HiddenSize, c.LayerNormEps, device: device, dtype: dtype);
        mlp = new ClipMlp(c, dtype, device);
        layer_norm2 = nn.LayerNorm(c.HiddenSize, c.LayerNormEps, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x.Plus(self_attn.call(layer_norm1.call(x)));
        return h.Plus(mlp.call(layer_norm2.call(h))).MoveToOuterDisposeScope();
    }
}
