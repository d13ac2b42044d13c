using MultiLora.Lora.Quantization;
using static TorchSharp.torch;

namespace MultiLora.Lora.Tests;

/// <summary>Dequantization of a layer larger than one chunk gives the bits the code-table reference gives.</summary>
public sealed class Nf4DequantizeTests : TorchTest
{
    /// <summary>code[unpack(packed)] * absmax of the block, in one piece (what Dequantize did before chunking).</summary>
    static Tensor Reference(Tensor packed, Tensor absmax, long[] shape, ScalarType dtype, int blockSize)
    {
        using var scope = NewDisposeScope();
        long n = shape.Aggregate(1L, (a, b) => a * b);
        var values = Nf4.Codes().index_select(0, Nf4.Unpack(packed, n));
        var scales = absmax.repeat_interleave(blockSize).narrow(0, 0, n);   // each value's block absmax
        return (values * scales).reshape(shape).to(dtype).MoveToOuterDisposeScope();
    }

    [Theory]
    [InlineData(2049, 2051, 64)]     // 4.2M weights: two chunks, and a partial last block
    [InlineData(96, 100, 64)]        // one chunk
    public void Dequantize_InChunks_IsBitIdenticalToTheWholeLayerReference(long rows, long cols, int blockSize)
    {
        using var scope = NewDisposeScope();
        var weight = randn(rows, cols);
        var (packed, absmax) = Nf4.Quantize(weight, blockSize);
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            var expected = Reference(packed, absmax, [rows, cols], dtype, blockSize);
            var actual = Nf4.Dequantize(packed, absmax, [rows, cols], dtype, blockSize);
            Assert.True(TensorAssert.Identical(expected, actual), $"{rows}x{cols} block {blockSize} {dtype}");
        }
    }
}
