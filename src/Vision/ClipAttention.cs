using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Vision;

/// <summary>Bidirectional multi-head self-attention of the CLIP encoder.</summary>
public sealed class ClipAttention : nn.Module<Tensor, Tensor>
{
    readonly int _heads, _headDim;
    public nn.Module<Tensor, Tensor> q_proj, k_proj, v_proj, out_proj;

    public ClipAttention(ClipVisionConfig c, ScalarType dtype, Device? device = null) : base(nameof(ClipAttention))
    {
        _heads = c.NumHeads; _headDim = c.HiddenSize / c.NumHeads;
        q_proj = nn.Linear(c.HiddenSize, c.HiddenSize, device: device, dtype: dtype);
        k_proj = nn.Linear(c.HiddenSize, c.HiddenSize, device: device, dtype: dtype);
        v_proj = nn.Linear(c.HiddenSize, c.HiddenSize, device: device, dtype: dtype);
        out_proj = nn.Linear(c.HiddenSize, c.HiddenSize, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>x [B, N, hidden] to [B, N, hidden].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.size(0), n = x.size(1);
        Tensor Heads(nn.Module<Tensor, Tensor> proj) => proj.call(x).view(b, n, _heads, _headDim).transpose(1, 2);   // [B, H, N, D]
        var attn = nn.functional.scaled_dot_product_attention(Heads(q_proj), Heads(k_proj), Heads(v_proj));
        return out_proj.call(attn.transpose(1, 2).reshape(b, n, _heads * _headDim)).MoveToOuterDisposeScope();
    }
}
