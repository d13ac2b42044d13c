using MultiLora.Lora.Adapters;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MultiLora.Lora.Tests;

/// <summary>Rows of one batch using different adapters (serving): each row gets its own adapter's delta, as if it ran alone.</summary>
public sealed class RowAdapterTests : TorchTest
{
    static LoraLinear WithAdapters(TorchSharp.Modules.Linear baseLayer, params (string Name, int R, int Alpha)[] adapters)
    {
        var lora = new LoraLinear(baseLayer);
        foreach (var (name, r, alpha) in adapters) lora.AddAdapter(name, r: r, alpha: alpha);
        using (no_grad())
            foreach (var (name, _, _) in adapters)
                lora.LoraB(name).weight.normal_(0, 1);   // B starts at zero: give the adapters an effect
        lora.eval();
        return lora;
    }

    static LoraLinear TwoAdapters() => WithAdapters(Linear(6, 5, hasBias: true), ("a", 2, 4), ("b", 3, 3));

    static Tensor Alone(LoraLinear lora, string? adapter, Tensor row)
    {
        lora.SetActiveAdapter(adapter);
        return lora.forward(row);
    }

    /// <summary>One forward of <paramref name="x"/> with each row routed to its adapter (null: the base).</summary>
    static Tensor Routed(LoraLinear lora, string?[] perRow, Tensor x, bool computePerRow = false)
    {
        using var rows = new RowAdapters(perRow, CPU, computePerRow);
        lora.SetRowAdapters(rows);
        try { return lora.forward(x); }
        finally { lora.SetRowAdapters(null); }
    }

    [Fact]
    public void MixedRows_EachGetTheirOwnAdaptersOutput()
    {
        using var scope = NewDisposeScope();
        using var lora = TwoAdapters();
        using var _ = no_grad();
        var x = randn(4, 3, 6);
        string?[] perRow = ["a", null, "b", "a"];
        var batched = Routed(lora, perRow, x);
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
        var routed = Routed(lora, ["b", "b", "b"], x);
        Assert.True(TensorAssert.Identical(Alone(lora, "b", x), routed));
    }

    [Fact]
    public void RowsOfAnAdapterThisLayerDoesNotHold_GetTheBaseOutput()
    {
        using var scope = NewDisposeScope();
        using var lora = TwoAdapters();
        using var _ = no_grad();
        var x = randn(2, 1, 6);
        var y = Routed(lora, ["elsewhere", "a"], x);
        Assert.True(y.narrow(0, 0, 1).allclose(Alone(lora, null, x.narrow(0, 0, 1)), rtol: 1e-6, atol: 1e-6));
    }

    /// <summary>Three adapters of one rank and scaling on a layer large enough for the gathered path (see LoraLinear.GatheredForward).</summary>
    static LoraLinear ThreeAdaptersOfOneRank() =>   // r x 64 = 512 multiply-adds per row: past the naive kernel
        WithAdapters(Linear(64, 64, hasBias: false), ("a", 8, 16), ("b", 8, 16), ("c", 8, 16));

    [Fact]
    public void MixedRowsOfOneRank_GatherTheirAdapters_BitForBitAsEachRowAlone()
    {
        using var scope = NewDisposeScope();
        using var lora = ThreeAdaptersOfOneRank();
        using var _ = no_grad();
        var x = randn(7, 1, 64);
        string?[] perRow = ["a", null, "c", "b", "elsewhere", "a", "c"];
        var batched = Routed(lora, perRow, x, computePerRow: true);
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
        Routed(lora, ["a", "b", "c"], x, computePerRow: true);   // builds the stack of a, b, c
        lora.RemoveAdapter("b");
        var y = Routed(lora, ["a", "b", "c"], x, computePerRow: true);
        Assert.True(TensorAssert.Identical(Alone(lora, null, x.narrow(0, 1, 1)), y.narrow(0, 1, 1)));   // b is gone: the base
        Assert.True(TensorAssert.Identical(Alone(lora, "c", x.narrow(0, 2, 1)), y.narrow(0, 2, 1)));    // c moved up the stack
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
