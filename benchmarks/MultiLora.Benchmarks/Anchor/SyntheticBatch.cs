using MultiLora.Core.Tensors;
using static TorchSharp.torch;

namespace MultiLora.Benchmarks.Anchor;

/// <summary>
/// hf_anchor.py's synthetic batch: ids [B, L] with BOS at 0, the image placeholder at 1..n_img, random text ids
/// after; labels = ids with the first 1 + n_img + text/2 positions unscored (-100); random pixels.
/// </summary>
public sealed class SyntheticBatch : IDisposable
{
    public const long Bos = 1, Ignore = -100, FirstTextId = 3;

    public required Tensor InputIds { get; init; }
    public required Tensor Labels { get; init; }
    public required Tensor Pixels { get; init; }
    /// <summary>The scored positions and their targets, computed on the host as the trainer's batches carry them.</summary>
    public required Tensor ScoredRows { get; init; }
    public required Tensor ScoredTargets { get; init; }
    public long ImageTokens { get; init; }

    public static SyntheticBatch Train(AnchorPreset p, Device device, ScalarType pixelType)
    {
        using var ids = Ids(p, CPU);
        using var labels = ids.clone();
        labels.narrow(1, 0, 1 + p.ImageTokens + p.TextTokens / 2).fill_(Scalars.Of(Ignore));
        var (rows, targets) = MultiLora.Llava.Training.CausalLmLoss.Scored(labels.flatten().data<long>().ToArray(), p.Batch, p.SequenceLength);
        return new SyntheticBatch
        {
            InputIds = ids.to(device, copy: true), Labels = labels.to(device, copy: true), Pixels = RandomPixels(p, device, pixelType),
            ScoredRows = tensor(rows, device: device), ScoredTargets = tensor(targets, device: device), ImageTokens = (long)p.Batch * p.ImageTokens,
        };
    }

    /// <summary>Generation prompts as token arrays (image placeholders expanded) and their pixels (hf_anchor.py's gen(): no BOS set).</summary>
    public static (List<int[]> Prompts, Tensor Pixels) Prompts(AnchorPreset p, Device device, ScalarType pixelType)
    {
        using var ids = randint(FirstTextId, AnchorPreset.ImageTokenId, [p.Batch, p.SequenceLength], dtype: ScalarType.Int64);
        ids.narrow(1, 1, p.ImageTokens).fill_(Scalars.Of((long)AnchorPreset.ImageTokenId));
        var flat = ids.data<long>().ToArray();
        var prompts = Enumerable.Range(0, p.Batch).Select(r => flat.Skip(r * p.SequenceLength).Take(p.SequenceLength).Select(x => (int)x).ToArray()).ToList();
        return (prompts, RandomPixels(p, device, pixelType));
    }

    static Tensor Ids(AnchorPreset p, Device device)
    {
        var ids = randint(FirstTextId, AnchorPreset.ImageTokenId, [p.Batch, p.SequenceLength], dtype: ScalarType.Int64, device: device);
        ids.narrow(1, 1, p.ImageTokens).fill_(Scalars.Of((long)AnchorPreset.ImageTokenId));
        ids.select(1, 0).fill_(Scalars.Of(Bos));
        return ids;
    }

    static Tensor RandomPixels(AnchorPreset p, Device device, ScalarType dtype) =>
        randn([p.Batch, p.Vision.NumChannels, p.Vision.ImageSize, p.Vision.ImageSize], dtype: dtype, device: device);

    public void Dispose() { InputIds.Dispose(); Labels.Dispose(); Pixels.Dispose(); ScoredRows.Dispose(); ScoredTargets.Dispose(); }
}
