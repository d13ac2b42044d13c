namespace MultiLora.Data.Images;

/// <summary>
/// Overrides on top of preprocessor_config.json. <paramref name="Resolution"/> replaces both the shortest
/// edge and the crop size (e.g. 336 for a 224 tower run with interpolated position embeddings); when
/// <paramref name="PatchSize"/> is given the resolution must be a multiple of it. <paramref name="Backend"/>
/// picks which HF implementation to match (transformers 5 fast by default).
/// </summary>
public sealed record ImagePreprocessOptions(int? Resolution = null, AspectMode Aspect = AspectMode.Crop, int? PatchSize = null,
    ResizeBackend Backend = ResizeBackend.Torchvision)
{
    public static ImagePreprocessOptions Default { get; } = new();
}
