using MultiLora.Data.Images;
using MultiLora.Data.Model;

namespace MultiLora.Data.Pipeline;

/// <summary>Samples trained together in one step.</summary>
public sealed record Batch(IReadOnlyList<TrainingSample> Samples)
{
    public int Count => Samples.Count;

    /// <summary>
    /// Right-pads to the longest sample: ids with <paramref name="padId"/>, labels with -100 (no loss), attention
    /// mask 1 on real tokens and 0 on padding. Arrays are row-major [batch, sequence].
    /// </summary>
    public PaddedBatch Pad(int padId)
    {
        if (Samples.Count == 0) throw new InvalidOperationException("cannot pad an empty batch");
        var length = Samples.Max(s => s.Encoded.Length);
        var ids = new int[Samples.Count * length];
        var labels = new int[ids.Length];
        var mask = new int[ids.Length];
        Array.Fill(ids, padId);
        Array.Fill(labels, EncodedSample.IgnoreIndex);
        for (var row = 0; row < Samples.Count; row++)
        {
            var encoded = Samples[row].Encoded;
            if (encoded.Labels.Length != encoded.InputIds.Length)
                throw new InvalidDataException($"{Samples[row].Origin}: {encoded.InputIds.Length} ids but {encoded.Labels.Length} labels");
            encoded.InputIds.CopyTo(ids, row * length);
            encoded.Labels.CopyTo(labels, row * length);
            Array.Fill(mask, 1, row * length, encoded.Length);
        }
        return new PaddedBatch(Samples.Count, length, ids, labels, mask, [.. Samples.Select(s => s.Pixels)]);
    }
}

/// <summary>A padded batch as plain arrays, row-major [BatchSize, SequenceLength]; Pixels[i] is null for text-only rows.</summary>
public sealed record PaddedBatch(int BatchSize, int SequenceLength, int[] InputIds, int[] Labels, int[] AttentionMask, IReadOnlyList<PixelTensor?> Pixels)
{
    public ReadOnlySpan<int> Row(int[] values, int row) => values.AsSpan(row * SequenceLength, SequenceLength);
}
