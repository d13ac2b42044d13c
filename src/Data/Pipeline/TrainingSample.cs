using MultiLora.Data.Images;
using MultiLora.Data.Model;

namespace MultiLora.Data.Pipeline;

/// <summary>A sample ready for the trainer: ids and labels, the preprocessed image (null for text-only), and where it came from.</summary>
public sealed record TrainingSample(EncodedSample Encoded, PixelTensor? Pixels, string Origin)
{
    public bool HasImage => Pixels is not null;
}
