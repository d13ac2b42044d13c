using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Language;

/// <summary>
/// Multi-head self-attention with grouped key/value heads (GQA), RoPE and causal SDPA.
/// Projections are plain linears held as Module fields so adapters can replace them from outside.
/// </summary>
public sealed class LlamaAttention : nn.Module<Tensor, Tensor>
{
    readonly int _heads, _kvHeads, _headDim;
    public nn.Module<Tensor, Tensor> q_proj, k_proj, v_proj, o_proj;

    public LlamaAttention(LlamaConfig c, ScalarType dtype, Device? device = null) : base(nameof(LlamaAttention))
    {
        _heads = c.NumHeads; _kvHeads = c.NumKeyValueHeads; _headDim = c.HeadDim;
        q_proj = nn.Linear(c.HiddenSize, c.NumHeads * c.HeadDim, c.AttentionBias, device, dtype);
        k_proj = nn.Linear(c.HiddenSize, c.NumKeyValueHeads * c.HeadDim, c.AttentionBias, device, dtype);
        v_proj = nn.Linear(c.HiddenSize, c.NumKeyValueHeads * c.HeadDim, c.AttentionBias, device, dtype);
        o_proj = nn.Linear(c.NumHeads * c.HeadDim, c.HiddenSize, c.OutputProjectionBias, device, dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("call Forward(x, rope, mask, cache, layer)");

    /// <param name="x">[B, T, hidden]</param>
    /// <param name="rope">cos/sin tables [B or 1, 1, T, D] for these T positions</param>
    /// <param name="mask">bool [B, 1, T, S] (true = attend) or null for plain causal attention</param>
    /// <param name="cache">KV cache to append to (decoding), or null</param>
    public Tensor Forward(Tensor x, (Tensor Cos, Tensor Sin) rope, Tensor? mask, IKvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        long b = x.size(0), t = x.size(1);
        var q = q_proj.call(x).view(b, t, _heads, _headDim).transpose(1, 2);     // [B, H, T, D]
        var k = k_proj.call(x).view(b, t, _kvHeads, _headDim).transpose(1, 2);   // [B, KVH, T, D]
        var v = v_proj.call(x).view(b, t, _kvHeads, _headDim).transpose(1, 2);   // [B, KVH, T, D]
        q = RotaryEmbedding.Apply(q, rope.Cos, rope.Sin);
        k = RotaryEmbedding.Apply(k, rope.Cos, rope.Sin);
        if (cache is not null) (k, v) = cache.Append(layer, k, v);               // [B, KVH, S, D]
        long s = k.size(2);

        Tensor attn;
        if (t == 1)
        {
            // decoding one token: each key/value head's query group attends to the same keys, so the group becomes the
            // query axis of that head ([B, KVH, G, D]) and the cache is read as it is, instead of expanding all S cached
            // positions G-fold every token (a mask [B, 1, 1, S] broadcasts over heads and group alike)
            var grouped = q.reshape(b, _kvHeads, _heads / _kvHeads, _headDim);
            attn = (cache?.Attend(grouped, k, v)
                ?? (mask is null
                    ? nn.functional.scaled_dot_product_attention(grouped, k, v)
                    : nn.functional.scaled_dot_product_attention(grouped, k, v, attn_mask: mask))).reshape(b, _heads, 1, _headDim);
        }
        else
        {
            if (mask is null && s != t)
                throw new InvalidOperationException($"attention over {s} keys for {t} queries needs an explicit mask (plain causal attention assumes no cached prefix)");
            k = RepeatKv(k); v = RepeatKv(v);                                      // [B, H, S, D] (no copy when heads == kv heads)
            // no mask: SDPA's causal flag (top-left aligned, so only without a cached prefix), which lets it pick the
            // flash / memory-efficient kernels
            attn = mask is null
                ? nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true)
                : nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: mask);
        }
        var merged = attn.transpose(1, 2).reshape(b, t, _heads * _headDim);       // [B, T, H*D]
        return o_proj.call(merged).MoveToOuterDisposeScope();
    }

    /// <summary>GQA: each key/value head serves heads/kvHeads query heads. SDPA here has no GQA flag.</summary>
    Tensor RepeatKv(Tensor kv)
    {
        int groups = _heads / _kvHeads;
        if (groups == 1) return kv;
        long b = kv.size(0), s = kv.size(2);
        return kv.unsqueeze(2).expand(b, _kvHeads, groups, s, _headDim).reshape(b, _heads, s, _headDim);
    }
}
