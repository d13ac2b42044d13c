using MultiLora.Data.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Llava.Training;

/// <summary>
/// A padded batch as tensors, with what the step needs to know about it computed on the host (image placeholders,
/// scored positions), so the step reads nothing back from the device. Built in two halves: <see cref="Host"/> makes
/// the CPU tensors (pinned when they are bound for a GPU) and can run on a background thread while the previous step
/// computes; <see cref="To"/> copies them to the device, non-blocking from pinned memory, so the copy queues behind
/// the device's work instead of waiting for it.
/// </summary>
public sealed class BatchTensors : IDisposable
{
    public required Tensor InputIds { get; init; }       // [B, T] int64
    public required Tensor Labels { get; init; }         // [B, T] int64, -100 = not scored
    public required Tensor AttentionMask { get; init; }  // [B, T] int64, 1 = real token
    public Tensor? Pixels { get; init; }                 // [N, 3, H, W], the batch's images in row order
    /// <summary>Flat positions b * T + t whose next token is scored, and those tokens (<see cref="CausalLmLoss.ComputeScored"/>).</summary>
    public required Tensor ScoredRows { get; init; }     // [S] int64
    public required Tensor ScoredTargets { get; init; }  // [S] int64
    public int Samples { get; init; }
    public long Tokens { get; init; }
    public long ScoredTokens { get; init; }
    /// <summary>Image placeholder tokens in <see cref="InputIds"/>, counted on the host.</summary>
    public long ImageTokens { get; init; }
    public IReadOnlyList<string> Origins { get; init; } = [];

    public static BatchTensors From(Batch batch, int padId, Device device, ScalarType pixelType, int imageTokenId = -1)
    {
        if (device.type == DeviceType.CPU) return Host(batch, padId, pixelType, imageTokenId);
        using var host = Host(batch, padId, pixelType, imageTokenId, pin: device.type == DeviceType.CUDA);
        return host.To(device);
    }

    /// <summary>The batch as CPU tensors; <paramref name="pin"/>: in page-locked memory, for non-blocking copies to a GPU.</summary>
    public static BatchTensors Host(Batch batch, int padId, ScalarType pixelType, int imageTokenId = -1, bool pin = false)
    {
        var padded = batch.Pad(padId);
        long[] Longs(int[] a) => Array.ConvertAll(a, x => (long)x);
        Tensor Pinned(Tensor t) { if (!pin) return t; var p = t.pin_memory(); t.Dispose(); return p; }
        long[] shape = [padded.BatchSize, padded.SequenceLength];
        var withImages = batch.Samples.Where(s => s.Pixels is not null).ToList();
        var images = withImages.Select(s => s.Pixels!).ToList();
        Tensor? pixels = null;
        if (images.Count > 0)
        {
            var h = images[0].Height;
            var w = images[0].Width;
            var all = new float[images.Count * 3 * h * w];
            for (int i = 0; i < images.Count; i++)
            {
                if (images[i].Height != h || images[i].Width != w)
                    throw new InvalidDataException($"{withImages[i].Origin}: image is {images[i].Height}x{images[i].Width}, the batch's are {h}x{w}");
                images[i].Values.CopyTo(all, i * 3 * h * w);
            }
            var floats = tensor(all, [images.Count, 3, h, w]);
            if (pixelType != ScalarType.Float32) { var cast = floats.to(pixelType); floats.Dispose(); floats = cast; }
            pixels = Pinned(floats);
        }
        var labels = Longs(padded.Labels);
        var (rows, targets) = CausalLmLoss.Scored(labels, padded.BatchSize, padded.SequenceLength);
        return new BatchTensors
        {
            InputIds = Pinned(tensor(Longs(padded.InputIds), shape)),
            Labels = Pinned(tensor(labels, shape)),
            AttentionMask = Pinned(tensor(Longs(padded.AttentionMask), shape)),
            Pixels = pixels,
            ScoredRows = Pinned(tensor(rows)),
            ScoredTargets = Pinned(tensor(targets)),
            Samples = padded.BatchSize,
            Tokens = padded.AttentionMask.LongCount(m => m != 0),
            ScoredTokens = batch.Samples.Sum(s => (long)s.Encoded.LabelTokenCount),
            ImageTokens = padded.InputIds.LongCount(id => id == imageTokenId),
            Origins = batch.Samples.Select(s => s.Origin).ToList(),
        };
    }

    /// <summary>A copy on <paramref name="device"/> (non-blocking from pinned memory); this host copy stays the caller's.</summary>
    public BatchTensors To(Device device)
    {
        Tensor Move(Tensor t) => t.to(device, copy: true, non_blocking: t.is_pinned());
        return new BatchTensors
        {
            InputIds = Move(InputIds),
            Labels = Move(Labels),
            AttentionMask = Move(AttentionMask),
            Pixels = Pixels is null ? null : Move(Pixels),
            ScoredRows = Move(ScoredRows),
            ScoredTargets = Move(ScoredTargets),
            Samples = Samples, Tokens = Tokens, ScoredTokens = ScoredTokens, ImageTokens = ImageTokens, Origins = Origins,
        };
    }

    public void Dispose()
    {
        InputIds.Dispose(); Labels.Dispose(); AttentionMask.Dispose(); Pixels?.Dispose(); ScoredRows.Dispose(); ScoredTargets.Dispose();
    }
}
