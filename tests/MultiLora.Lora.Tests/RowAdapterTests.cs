using MultiLora.Lora.Adapters;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MultiLora.Lora.Tests;

/// <summary>Rows of one batch using different adapters (serving): each row gets its own adapter's delta, as if it ran alone.</summary>
public sealed class RowAdapterTests : TorchTest
{
    static LoraLinear TwoAdapters()
    {
        var lora = new LoraLinear(Linear(6, 5, hasBias: true));
        lora.AddAdapter("a", r: 2, alpha: 4);
        lora.AddAdapter("b", r: 3, alpha: 3);
        using (no_grad())
            foreach (var name in new[] { "a", "b" })
                lora.LoraB(name).weight.normal_(0, 1);   // B starts at zero: give the adapters an effect
        lora.eval();
        return lora;
    }

    static Tensor Alone(LoraLinear lora, string? adapter, Tensor row)
    {
        lora.SetActiveAdapter(adapter);
        return lora.forward(row);
    }

    [Fact]
    public void MixedRows_EachGetTheirOwnAdaptersOutput()
    {
        using var scope = NewDisposeScope();
        using var lora = TwoAdapters();
        using var _ = no_grad();
        var x = randn(4, 3, 6);
        string?[] perRow = ["a", null, "b", "a"];
        using var rows = new RowAdapters(perRow, CPU);
        lora.SetRowAdapters(rows);
        var batched = lora.forward(x);
        lora.SetRowAdapters(null);
        for (int r = 0; r < perRow.Length; r++)
        {
            var expected = Alone(lora, perRow[r], x.narrow(0, r, 1));
            Assert.True(batched.narrow(0, r, 1).allclose(expected, rtol: 1e-6, atol: 1e-6), $"row {r} ({perRow[r] ?? "base"})");
        }
        Assert.False(batched.narrow(0, 0, 1).allclose(Alone(lora, null, x.narrow(0, 0, 1)), rtol: 1e-4, atol: 1e-4));
    }

    [Fact]
    public void OneAdapterForEveryRow_IsExactlyTheActiveAdapterForward()
    {
        using var scope = NewDisposeScope();
        using var lora = TwoAdapters();
        using var _ = no_grad();
        var x = randn(3, 2, 6);
        using var rows = new RowAdapters(["b", "b", "b"], CPU);
        lora.SetRowAdapters(rows);
        var routed = lora.forward(x);
        lora.SetRowAdapters(null);
        Assert.True(TensorAssert.Identical(Alone(lora, "b", x), routed));
    }

    [Fact]
    public void RowsOfAnAdapterThisLayerDoesNotHold_GetTheBaseOutput()
    {
        using var scope = NewDisposeScope();
        using var lora = TwoAdapters();
        using var _ = no_grad();
        var x = randn(2, 1, 6);
        using var rows = new RowAdapters(["elsewhere", "a"], CPU);
        lora.SetRowAdapters(rows);
        var y = lora.forward(x);
        lora.SetRowAdapters(null);
        Assert.True(y.narrow(0, 0, 1).allclose(Alone(lora, null, x.narrow(0, 0, 1)), rtol: 1e-6, atol: 1e-6));
    }

    /// <summary>Three adapters of one rank and scaling on a layer large enough for the gathered path (see LoraLinear.GatheredForward).</summary>
    static LoraLinear ThreeAdaptersOfOneRank()
    {
        var lora = new LoraLinear(Linear(64, 64, hasBias: false));   // r x 64 = 512 multiply-adds per row: past the naive kernel
        foreach (var name in new[] { "a", "b", "c" }) lora.AddAdapter(name, r: 8, alpha: 16);
        using (no_grad())
            foreach (var name in new[] { "a", "b", "c" })
                lora.LoraB(name).weight.normal_(0, 1);
        lora.eval();
        return lora;
    }

    [Fact]
    public void MixedRowsOfOneRank_GatherTheirAdapters_BitForBitAsEachRowAlone()
    {
        using var scope = NewDisposeScope();
        using var lora = ThreeAdaptersOfOneRank();
        using var _ = no_grad();
        var x = randn(7, 1, 64);
        string?[] perRow = ["a", null, "c", "b", "elsewhere", "a", "c"];
        using var rows = new RowAdapters(perRow, CPU, computePerRow: true);
        lora.SetRowAdapters(rows);
        var batched = lora.forward(x);
        lora.SetRowAdapters(null);
        for (int r = 0; r < perRow.Length; r++)
        {
            string? own = perRow[r] == "elsewhere" ? null : perRow[r];
            Assert.True(TensorAssert.Identical(Alone(lora, own, x.narrow(0, r, 1)), batched.narrow(0, r, 1)), $"row {r} ({perRow[r] ?? "base"})");
        }
        // the adapters differ: a row given another adapter's output would fail above
        Assert.False(TensorAssert.Identical(Alone(lora, "a", x.narrow(0, 2, 1)), batched.narrow(0, 2, 1)));
    }

    [Fact]
    public void GatheredAdapters_FollowAnAdapterRemovedBetweenBatches()
    {
        using var scope = NewDisposeScope();
        using var lora = ThreeAdaptersOfOneRank();
        using var _ = no_grad();
        var x = randn(3, 1, 64);
        using (var rows = new RowAdapters(["a", "b", "c"], CPU, computePerRow: true))
        {
            lora.SetRowAdapters(rows);
            lora.forward(x);   // builds the stack of a, b, c
            lora.SetRowAdapters(null);
        }
        lora.RemoveAdapter("b");
        using (var rows = new RowAdapters(["a", "b", "c"], CPU, computePerRow: true))
        {
            lora.SetRowAdapters(rows);
            var y = lora.forward(x);
            lora.SetRowAdapters(null);
            Assert.True(TensorAssert.Identical(Alone(lora, null, x.narrow(0, 1, 1)), y.narrow(0, 1, 1)));   // b is gone: the base
            Assert.True(TensorAssert.Identical(Alone(lora, "c", x.narrow(0, 2, 1)), y.narrow(0, 2, 1)));    // c moved up the stack
        }
    }

    [Fact]
    public void RemovedAdapter_IsGone_AndTheModuleRunsTheBase()
    {
        using var scope = NewDisposeScope();
        using var lora = TwoAdapters();
        lora.SetActiveAdapter("a");
        lora.RemoveAdapter("a");
        Assert.Null(lora.ActiveAdapter);
        Assert.Equal(["b"], lora.Adapters);
        Assert.DoesNotContain(lora.named_parameters(), p => p.name.Contains(".a.", StringComparison.Ordinal) || p.name.EndsWith("_A.a.weight", StringComparison.Ordinal));
        Assert.Throws<KeyNotFoundException>(() => lora.RemoveAdapter("a"));
    }
}
