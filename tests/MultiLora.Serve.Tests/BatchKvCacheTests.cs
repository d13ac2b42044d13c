using MultiLora.Core.Tensors;
using MultiLora.Language;
using MultiLora.Serve.Engine;
using static TorchSharp.torch;

namespace MultiLora.Serve.Tests;

/// <summary>
/// The batch cache holds rows of different lengths in slots: a decode step's attention for each row, through the step
/// mask (or row by row), equals that row's attention over its own keys alone; rows join, leave, take freed slots and
/// outgrow the slots and the capacity intact.
/// </summary>
public sealed class BatchKvCacheTests
{
    const int Heads = 2, Dim = 8;

    static KvCache Prefill(long length, int layers, Generator g)
    {
        var cache = new KvCache(layers);
        for (int l = 0; l < layers; l++) cache.Append(l, randn([1, Heads, length, Dim], generator: g), randn([1, Heads, length, Dim], generator: g));
        return cache;
    }

    /// <summary>One decode step of one layer: every row attends from a fresh query over its keys; returns [B, H, 1, D].</summary>
    static Tensor Step(IKvCache cache, Tensor? mask, Tensor q, Tensor k, Tensor v)
    {
        var (keys, values) = cache.Append(0, k, v);
        return cache.Attend(q, keys, values) ?? nn.functional.scaled_dot_product_attention(q, keys, values, attn_mask: mask);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EachRowAttendsExactlyToItsOwnPositions_ThroughJoinsLeavesAndGrowth(bool perRow)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(7);
        long[] lengths = [5, 12, 1];
        var singles = lengths.Select(n => Prefill(n, 1, g)).ToList();
        using var batch = new BatchKvCache(1) { PerRow = perRow };
        using (var first = Prefill(5, 1, g)) batch.Join([first]);   // joining copies: the one-row cache may go
        batch.Keep([]);                                                // every row left: empty again
        Assert.Equal(0, batch.Rows);
        var copies = singles.Select(s => { var c = new KvCache(1); var (k, v) = s.Layer(0); c.Append(0, k, v); return c; }).ToList();
        batch.Join(copies.Take(2).ToList());
        foreach (var c in copies.Take(2)) c.Dispose();

        var rows = new List<int> { 0, 1 };
        for (int step = 0; step < 70; step++)   // 70 steps: past the first capacity (12 + 1 + 32), so the buffers grow
        {
            if (step == 3) { batch.Join([copies[2]]); copies[2].Dispose(); rows.Add(2); }   // a row joins mid-decode
            if (step == 40) { batch.Keep([1, 2]); rows.Remove(0); }                        // a row leaves: its slot is free
            if (step == 45)
            {
                // a row takes the freed slot (the first, ahead of the others), and more rows than the slots outgrow them
                var more = Enumerable.Range(0, 5).Select(i => Prefill(3 + i, 1, g)).ToList();
                foreach (var m in more)
                {
                    var (k0, v0) = m.Layer(0);
                    var single = new KvCache(1);
                    single.Append(0, k0, v0);
                    singles.Add(single);
                    rows.Add(singles.Count - 1);
                }
                batch.Join(more);
                foreach (var m in more) m.Dispose();
            }
            if (step == 50) { batch.Keep([0, 2, 4, 6]); rows = [rows[0], rows[2], rows[4], rows[6]]; }
            using var stepScope = NewDisposeScope();
            int b = rows.Count;
            var q = randn([b, Heads, 1, Dim], generator: g);
            var k = randn([b, Heads, 1, Dim], generator: g);
            var v = randn([b, Heads, 1, Dim], generator: g);
            batch.BeginStep();
            var mask = batch.StepMask(CPU);
            var batched = Step(batch, mask, q, k, v);
            batch.EndStep();
            for (int i = 0; i < b; i++)
            {
                var alone = Step(singles[rows[i]], null, q.narrow(0, i, 1), k.narrow(0, i, 1), v.narrow(0, i, 1));
                double diff = batched.narrow(0, i, 1).add(alone, Scalars.Of(-1.0)).abs().max().item<float>();
                // row by row: the call the row alone makes, so the same bits; masked: within rounding
                if (perRow) Assert.True(batched.narrow(0, i, 1).eq(alone).all().item<bool>(), $"step {step}, row {rows[i]}: differs by {diff}");
                else Assert.True(diff < 1e-5, $"step {step}, row {rows[i]}: max |diff| {diff}");
            }
            Assert.Equal(rows.Select(r => singles[r].Length), batch.Lengths);
        }
        foreach (var s in singles) s.Dispose();
    }

    [Fact]
    public void RowsOfEqualLength_NeedNoMask()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(3);
        using var batch = new BatchKvCache(1);
        var a = Prefill(4, 1, g);
        var b = Prefill(4, 1, g);
        batch.Join([a, b]);
        a.Dispose(); b.Dispose();
        batch.BeginStep();
        Assert.Null(batch.StepMask(CPU));
    }
}
