namespace MultiLora.Data.Specs;

/// <summary>
/// Several datasets trained together: <see cref="TextMix"/> is the share of drawn samples that are text-only
/// (0.2 = one in five), <see cref="Seed"/> fixes every shuffle.
/// </summary>
public sealed record MixtureSpec
{
    public const int DefaultSeed = 42;

    public required IReadOnlyList<DatasetSpec> Datasets { get; init; }
    public double TextMix { get; init; }
    public int Seed { get; init; } = DefaultSeed;

    public IEnumerable<DatasetSpec> ImageDatasets => Datasets.Where(d => d.Kind == DatasetKind.Image);
    public IEnumerable<DatasetSpec> TextDatasets => Datasets.Where(d => d.Kind == DatasetKind.Text);
}
