using MultiLora.Core.Tensors;
using System.Globalization;
using MultiLora.Lora.Quantization;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MultiLora.Lora.Tests;

public sealed class Nf4Tests(ITestOutputHelper output) : TorchTest
{
    [Fact]
    public void CodeValues_PrintAsTheBitsAndBytesLiteralsToTheLastDigit()
    {
        string[] literals =
        [
            "-1", "-0.6961928009986877", "-0.5250730514526367", "-0.39491748809814453",
            "-0.28444138169288635", "-0.18477343022823334", "-0.09105003625154495", "0",
            "0.07958029955625534", "0.16093020141124725", "0.24611230194568634", "0.33791524171829224",
            "0.44070982933044434", "0.5626170039176941", "0.7229568362236023", "1",
        ];
        // float32 -> double -> shortest round-trip string: the digits Python prints for these float32 values.
        Assert.Equal(literals, Nf4.CodeValues.Select(v => ((double)v).ToString("R", CultureInfo.InvariantCulture)));
        using var t = Nf4.Codes();
        Assert.Equal(ScalarType.Float32, t.dtype);
        Assert.Equal(Nf4.CodeValues, t.data<float>().ToArray());
    }

    [Fact]
    public void PackUnpack_RoundTripsExactly_EvenElementInHighNibble()
    {
        using var codes = randint(0, 16, [1001], dtype: ScalarType.Int64);
        using var packed = Nf4.Pack(codes);
        Assert.Equal([501L, 1L], packed.shape);
        Assert.Equal(ScalarType.Byte, packed.dtype);
        using var back = Nf4.Unpack(packed, 1001);
        Assert.True(TensorAssert.Identical(back, codes));

        using var two = tensor(new long[] { 1, 2, 15 });
        using var p2 = Nf4.Pack(two);
        Assert.Equal(new byte[] { 0x12, 0xF0 }, p2.data<byte>().ToArray());
    }

    [Fact]
    public void Quantize_ValueExactlyOnAMidpoint_GoesToTheLowerCode()
    {
        using var mid = Nf4.Midpoints();
        var m = mid.data<float>().ToArray();
        // One block: absmax 1 (so scaling is exact), then the midpoints between codes 7|8, 8|9, 2|3 and
        // values a hair above two of them.
        float above = MathF.BitIncrement(m[7]);
        var values = new float[] { 1.0f, m[7], m[8], m[2], above, MathF.BitIncrement(m[2]), -1.0f, 0f };
        using var w = tensor(values);
        var (packed, absmax) = Nf4.Quantize(w);
        using var _p = packed; using var _a = absmax;
        using var codes = Nf4.Unpack(packed, values.Length);
        Assert.Equal(new long[] { 15, 7, 8, 2, 8, 3, 0, 7 }, codes.data<long>().ToArray());
        Assert.Equal(1.0f, absmax.item<float>());
    }

    [Fact]
    public void Quantize_PartialLastBlock_HasItsOwnAbsmax()
    {
        using var w = randn(7, 10); // 70 values: one block of 64 and one of 6
        var (packed, absmax) = Nf4.Quantize(w);
        using var _p = packed; using var _a = absmax;
        Assert.Equal(2, absmax.numel());
        using var flat = w.reshape(-1);
        Assert.Equal(flat[..64].abs().max().item<float>(), absmax[0].item<float>());
        Assert.Equal(flat[64..].abs().max().item<float>(), absmax[1].item<float>());
        Assert.Equal(35, packed.numel());
        using var back = Nf4.Dequantize(packed, absmax, [7, 10], ScalarType.Float32);
        // Each block's absmax element is represented exactly (code +-1).
        using var idx = flat[64..].abs().argmax();
        Assert.Equal(flat[64 + idx.item<long>()].item<float>(), back.reshape(-1)[64 + idx.item<long>()].item<float>());
    }

    [Fact]
    public void Quantize_LargerThanOneChunk_EqualsTheOnePassReference()
    {
        long n = (1L << 22) + 64 * 3 + 10; // crosses the 4M-element chunk boundary and ends in a partial block
        using var w = randn(n);
        var (packed, absmax) = Nf4.Quantize(w);
        using var _p = packed; using var _a = absmax;

        // bitsandbytes' reference, in one pass: full blocks, then the partial block.
        long full = n / 64 * 64;
        using var blocks = w[..(int)full].view(-1, 64);
        using var am = blocks.abs().amax([1L]);
        using var tail = w[(int)full..];
        using var amTail = tail.abs().max().unsqueeze(0);
        using var expectedAbsmax = cat([am, amTail]);
        using var scaled = cat([clamp(blocks * am.reciprocal().view(-1, 1), Scalars.Of(-1L), Scalars.One).reshape(-1), clamp(tail / amTail, Scalars.Of(-1L), Scalars.One)]);
        using var mid = Nf4.Midpoints();
        using var codes = bucketize(scaled, mid);
        using var got = Nf4.Unpack(packed, n);
        Assert.True(TensorAssert.Identical(expectedAbsmax, absmax));
        Assert.True(TensorAssert.Identical(codes, got));
    }

    [Fact]
    public void Dequantize_IsCodeOfEachNibbleTimesItsBlockAbsmax()
    {
        using var w = randn(9, 15); // 135 values: odd count, partial block
        var (packed, absmax) = Nf4.Quantize(w);
        using var _p = packed; using var _a = absmax;
        using var codes = Nf4.Unpack(packed, 135);
        using var table = Nf4.Codes();
        using var blockOf = Ranges.Arange(0, 135).div(Scalars.Of(64L), RoundingMode.floor);
        using var expected = (table.index_select(0, codes) * absmax.index_select(0, blockOf)).reshape(9, 15);
        using var got = Nf4.Dequantize(packed, absmax, [9, 15], ScalarType.Float32);
        Assert.True(TensorAssert.Identical(expected, got));
    }

    [Fact]
    public void DequantizeOfQuantize_ErrorStaysWithinHalfTheWidestCodeGapTimesBlockAbsmax()
    {
        using var w = randn(256, 512).mul(Scalars.Of(0.02));
        var (packed, absmax) = Nf4.Quantize(w);
        using var _p = packed; using var _a = absmax;
        using var back = Nf4.Dequantize(packed, absmax, [256, 512], ScalarType.Float32);
        using var err = (back - w).abs().reshape(-1, 64);
        using var relToBlock = err / absmax.view(-1, 1);
        double maxAbs = err.max().item<float>();
        double maxRel = relToBlock.max().item<float>();
        double relFro = ((back - w).norm() / w.norm()).item<float>();
        output.WriteLine($"NF4 on N(0, 0.02^2) [256x512]: max abs error {maxAbs:E3}, max error / block absmax {maxRel:F4}, relative Frobenius error {relFro:F4}");
        // Widest gap is between -1.0 and -0.6961928: nearest-code rounding is off by at most half of it.
        double bound = (1.0 - 0.6961928009986877) / 2 + 1e-6;
        Assert.True(maxRel <= bound, $"max error / absmax {maxRel} > {bound}");
        // Measured 0.0917 for normal weights (seed 1234); the bound below leaves little room for a regression.
        Assert.True(relFro < 0.11, $"relative Frobenius error {relFro}");
    }

    [Fact]
    public void DynamicMap8_Has256SortedSignedValuesFromTheBitsAndBytesConstruction()
    {
        var v = DynamicMap8.CodeValues;
        Assert.Equal(256, v.Count);
        Assert.True(v.Zip(v.Skip(1)).All(p => p.First <= p.Second));
        Assert.Equal(1.0f, v[^1]);
        Assert.Contains(0f, v);
        // Smallest magnitude: 1e-6 * (0.1 + 1) / 2 (exponent -6 has a single fraction item).
        Assert.Equal(-(float)(0.55f * 1e-6f), v.Where(x => x < 0).Max(), 1e-12f);
        Assert.Equal(-0.9929688f, v[0], 1e-6f);
        Assert.Equal(127, v.Count(x => x < 0));
    }

    [Fact]
    public void DoubleQuantizedAbsmax_IsCloseToTheFloatAbsmax()
    {
        using var w = randn(300, 256);
        using var layer = Nf4Linear.FromWeight(w);
        var (_, plain) = Nf4.Quantize(w);
        using var _pl = plain;
        using var dq = layer.AbsmaxFloat();
        Assert.Equal(ScalarType.Byte, layer.Absmax.dtype);
        Assert.Equal(5, layer.NestedAbsmax!.numel()); // 1200 blocks / 256
        double maxRel = ((dq - plain).abs() / plain).max().item<float>();
        output.WriteLine($"double-quantized absmax: max relative error {maxRel:E3}");
        Assert.True(maxRel < 0.02, $"absmax relative error {maxRel}");
    }

    [Fact]
    public void Nf4Linear_ForwardEqualsLinearOfDequantizedWeight()
    {
        using var w = randn(40, 70);
        using var b = randn(40);
        using var layer = Nf4Linear.FromWeight(w, b);
        using var x = randn(3, 5, 70);
        using var deq = layer.DequantizeWeight(ScalarType.Float32);
        using var expected = nn.functional.linear(x, deq, b);
        using var got = layer.forward(x);
        Assert.True(TensorAssert.Identical(got, expected));
        using (no_grad())
        {
            using var inference = layer.forward(x);
            Assert.True(TensorAssert.Identical(inference, expected));
        }
    }

    [Fact]
    public void Nf4Linear_GradientReachesTheInputButNotTheWeight()
    {
        using var w = randn(24, 48);
        using var layer = Nf4Linear.FromWeight(w);
        Assert.DoesNotContain(layer.parameters(), p => p.requires_grad);
        using var x = randn(4, 48).requires_grad_(true);
        using var y = layer.forward(x);
        Assert.True(y.requires_grad);
        y.sum().backward();
        using var deq = layer.DequantizeWeight(ScalarType.Float32);
        using var expected = ones(4, 24).matmul(deq);
        Assert.NotNull(x.grad);
        Assert.True(x.grad!.allclose(expected, 1e-5, 1e-6));
        Assert.False(layer.PackedWeight.requires_grad);
        Assert.True(layer.PackedWeight.grad is null || layer.PackedWeight.grad.IsInvalid);
    }

    [Fact]
    public void Nf4Linear_ComputesInTheInputDtype()
    {
        using var w = randn(16, 64);
        using var layer = Nf4Linear.FromWeight(w);
        using var x = randn(2, 64).to(ScalarType.BFloat16);
        using var y = layer.forward(x);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
    }

    [Fact]
    public void ModuleToBf16_LeavesTheQuantizedStateInItsOwnDtypes()
    {
        using var tree = new TinyLlava();
        Quantizer.QuantizeLinears(tree, "", QuantConfig.QLoRA);
        var layer = (Nf4Linear)tree.model.language_model.layers[0].self_attn.q_proj;
        using var before = layer.DequantizeWeight(ScalarType.Float32);
        tree.to(ScalarType.BFloat16);
        Assert.Equal(ScalarType.Byte, layer.PackedWeight.dtype);
        Assert.Equal(ScalarType.Float32, layer.NestedAbsmax!.dtype);
        Assert.Equal(ScalarType.Float32, layer.NestedOffset!.dtype);
        Assert.Equal(ScalarType.BFloat16, ((TorchSharp.Modules.Linear)tree.lm_head).weight.dtype);
        using var after = layer.DequantizeWeight(ScalarType.Float32);
        Assert.True(TensorAssert.Identical(before, after));
        using var x = randn(2, 48).to(ScalarType.BFloat16);
        using var y = tree.forward(x);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
    }

    [Fact]
    public void Int8Linear_RowwiseErrorWithinHalfAStep_AndForwardMatchesDequantized()
    {
        using var w = randn(32, 100);
        using var layer = Int8Linear.FromWeight(w);
        using var deq = layer.DequantizeWeight(ScalarType.Float32);
        using var step = w.abs().amax([1L], keepdim: true).div(Scalars.Of(127L));
        double worst = ((deq - w).abs() / step).max().item<float>();
        Assert.True(worst <= 0.5 + 1e-4, $"int8 error {worst} steps");
        using var x = randn(3, 100);
        using var expected = nn.functional.linear(x, deq);
        using var got = layer.forward(x);
        Assert.True(TensorAssert.Identical(got, expected));
    }
}
