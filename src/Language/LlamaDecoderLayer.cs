using MultiLora.Core.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Language;

/// <summary>One pre-norm decoder block: x + attn(norm(x)), then x + mlp(norm(x)).</summary>
public sealed class LlamaDecoderLayer : nn.Module<Tensor, Tensor>
{
    public LlamaAttention self_attn;
    public LlamaMlp mlp;
    public RmsNorm input_layernorm, post_attention_layernorm;

    public LlamaDecoderLayer(LlamaConfig c, ScalarType dtype, Device? device = null) : base(nameof(LlamaDecoderLayer))
    {
        self_attn = new LlamaAttention(c, dtype, device);
        mlp = new LlamaMlp(c, dtype, device);
        input_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
        post_attention_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("call Forward(x, rope, mask, cache, layer)");

    public Tensor Forward(Tensor x, (Tensor Cos, Tensor Sin) rope, Tensor? mask, IKvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        var h = x.Plus(self_attn.Forward(input_layernorm.call(x), rope, mask, cache, layer));
        var output = h.Plus(mlp.call(post_attention_layernorm.call(h)));
        return output.MoveToOuterDisposeScope();
    }
}
