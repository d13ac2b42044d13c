using MultiLora.Core.Tensors;
using static TorchSharp.torch;

namespace MultiLora.Llava.Generation;

/// <summary>Picks the next token from last-position logits [B, vocab]: argmax, or temperature / top-k / top-p sampling.</summary>
public sealed class TokenSampler : IDisposable
{
    readonly GenerationOptions _o;
    readonly Generator? _rng;

    public TokenSampler(GenerationOptions options, Device device)
    {
        _o = options;
        if (!options.Greedy) _rng = new Generator((ulong)options.Seed, device);
    }

    public Tensor Next(Tensor logits)
    {
        using var scope = NewDisposeScope();
        if (_o.Greedy) return logits.argmax(-1).MoveToOuterDisposeScope();
        var scaled = logits.to(ScalarType.Float32).div(Scalars.Of(_o.Temperature));
        if (_o.TopK > 0 && _o.TopK < scaled.size(-1))
        {
            var kth = scaled.topk(_o.TopK, dim: -1).values.narrow(-1, _o.TopK - 1, 1);   // [B, 1]
            scaled = scaled.masked_fill(scaled.lt(kth), Scalars.Of(double.NegativeInfinity));
        }
        if (_o.TopP < 1.0)
        {
            var (sorted, order) = scaled.sort(-1, descending: true);
            var cumulative = sorted.softmax(-1).cumsum(-1);
            // drop tokens once the mass before them already exceeds top_p (the first token always stays)
            var drop = (cumulative - sorted.softmax(-1)).gt(Scalars.Of(_o.TopP));
            var dropInVocabOrder = zeros_like(drop).scatter(-1, order, drop);
            scaled = scaled.masked_fill(dropInVocabOrder, Scalars.Of(double.NegativeInfinity));
        }
        var probs = scaled.softmax(-1);
        return multinomial(probs, 1, generator: _rng).squeeze(-1).MoveToOuterDisposeScope();
    }

    public void Dispose() => _rng?.Dispose();
}
