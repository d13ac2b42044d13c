using MultiLora.Core.Tensors;
using MultiLora.Language;
using static TorchSharp.torch;

namespace MultiLora.Tests.Model;

/// <summary>The allocation-free routes of the decoder agree with the general ones they replace.</summary>
public sealed class DecodeFastPathTests
{
    static bool Identical(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void RotaryRange_IsTheComputedTableBitForBit_AlsoAfterGrowing()
    {
        using var scope = NewDisposeScope();
        using var rope = new RotaryEmbedding(12, new RopeSettings(10000));
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        foreach (var (start, length) in new[] { (0L, 7L), (5L, 1L), (300L, 40L), (3L, 2L) })   // 300 grows the 256-position table
        {
            var (cos, sin) = rope.Range(start, length, CPU, dtype);
            var (cosRef, sinRef) = rope.Tables(Ranges.Arange(start, start + length).unsqueeze(0), dtype);
            Assert.True(Identical(cos, cosRef) && Identical(sin, sinRef), $"{dtype} positions {start}..{start + length - 1}");
        }
    }

    [Fact]
    public void KvCache_AppendsInPlaceAndGrows_ReturningWhatConcatenationWould()
    {
        using var scope = NewDisposeScope();
        using var cache = new KvCache(layers: 2, capacity: 5);
        Tensor? keys = null;
        foreach (long t in new long[] { 3, 1, 1, 70 })   // 5 positions fit, then the buffer grows (twice)
        {
            var k = randn(2, 2, t, 4);
            keys = keys is null ? k : cat([keys, k], 2);
            for (int layer = 0; layer < 2; layer++)
            {
                var (cachedKeys, cachedValues) = cache.Append(layer, k, k.neg());
                Assert.True(Identical(cachedKeys, keys) && Identical(cachedValues, keys.neg()), $"layer {layer} after {keys.shape[2]} positions");
            }
            Assert.Equal(keys.shape[2], cache.Length);
        }
        Assert.True(cache.Capacity >= 75);
    }

    [Fact]
    public void GroupedQueryDecode_WithoutExpandingTheCache_MatchesTheExpandedAttention()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var config = new LlamaConfig(32, 48, 96, 1, 4, 2, 12, 1e-5, new RopeSettings(10000), 64, false, false, false, false, 1, 2, 0, "llama");
        using var attention = new LlamaAttention(config, ScalarType.Float32);
        using var rope = new RotaryEmbedding(12, config.Rope);
        var prefix = randn(2, 9, 48);
        var token = randn(2, 1, 48);
        using var grouped = new KvCache(1);
        using var expanded = new KvCache(1);
        attention.Forward(prefix, rope.Range(0, 9, CPU, ScalarType.Float32), null, grouped, 0);
        attention.Forward(prefix, rope.Range(0, 9, CPU, ScalarType.Float32), null, expanded, 0);
        var fast = attention.Forward(token, rope.Range(9, 1, CPU, ScalarType.Float32), null, grouped, 0);
        var allVisible = ones([2, 1, 1, 10], dtype: ScalarType.Bool);   // a mask takes the expanding route
        var general = attention.Forward(token, rope.Range(9, 1, CPU, ScalarType.Float32), allVisible, expanded, 0);
        Assert.True(Oracle.MaxAbsDiff(fast, general) <= 1e-6, $"max |diff| {Oracle.MaxAbsDiff(fast, general):E2}");
    }

    [Fact]
    public void CausalAttentionOverACachedPrefix_WithoutAMask_IsRefused()
    {
        using var scope = NewDisposeScope();
        var config = new LlamaConfig(32, 48, 96, 1, 4, 2, 12, 1e-5, new RopeSettings(10000), 64, false, false, false, false, 1, 2, 0, "llama");
        using var attention = new LlamaAttention(config, ScalarType.Float32);
        using var rope = new RotaryEmbedding(12, config.Rope);
        using var cache = new KvCache(1);
        attention.Forward(randn(1, 4, 48), rope.Range(0, 4, CPU, ScalarType.Float32), null, cache, 0);
        var e = Assert.Throws<InvalidOperationException>(() => attention.Forward(randn(1, 3, 48), rope.Range(4, 3, CPU, ScalarType.Float32), null, cache, 0));
        Assert.Contains("explicit mask", e.Message);
    }
}
