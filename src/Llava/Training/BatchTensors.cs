using MultiLora.Data.Pipeline;
using static TorchSharp.torch;

namespace MultiLora.Llava.Training;

/// <summary>A padded batch as tensors on the training device.</summary>
public sealed class BatchTensors : IDisposable
{
    public required Tensor InputIds { get; init; }       // [B, T] int64
    public required Tensor Labels { get; init; }         // [B, T] int64, -100 = not scored
    public required Tensor AttentionMask { get; init; }  // [B, T] int64, 1 = real token
    public Tensor? Pixels { get; init; }                 // [N, 3, H, W], the batch's images in row order
    public int Samples { get; init; }
    public long Tokens { get; init; }
    public long ScoredTokens { get; init; }
    public IReadOnlyList<string> Origins { get; init; } = [];

    public static BatchTensors From(Batch batch, int padId, Device device, ScalarType pixelType)
    {
        var padded = batch.Pad(padId);
        long[] Longs(int[] a) => Array.ConvertAll(a, x => (long)x);
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
            pixels = tensor(all, [images.Count, 3, h, w]).to(pixelType).to(device);
        }
        return new BatchTensors
        {
            InputIds = tensor(Longs(padded.InputIds), shape).to(device),
            Labels = tensor(Longs(padded.Labels), shape).to(device),
            AttentionMask = tensor(Longs(padded.AttentionMask), shape).to(device),
            Pixels = pixels,
            Samples = padded.BatchSize,
            Tokens = padded.AttentionMask.LongCount(m => m != 0),
            ScoredTokens = batch.Samples.Sum(s => (long)s.Encoded.LabelTokenCount),
            Origins = batch.Samples.Select(s => s.Origin).ToList(),
        };
    }

    public void Dispose()
    {
        InputIds.Dispose(); Labels.Dispose(); AttentionMask.Dispose(); Pixels?.Dispose();
    }
}
