using MultiLora.Data.Errors;
using MultiLora.Data.Mixing;
using MultiLora.Data.Readers;
using MultiLora.Data.Specs;

namespace MultiLora.Data.Pipeline;

/// <summary>
/// The records of a mixture, split into the image pool and the text-only pool, and their draw order per epoch
/// (<see cref="TextMixSampler"/> at the spec's text_mix and seed). Records are read once and kept in memory
/// (conversations only: images are loaded by the pipeline). A dataset's weight repeats its records: weight 2
/// twice, weight 0.5 a seeded half of them.
/// </summary>
public sealed class MixtureSource
{
    MixtureSource(MixtureSpec spec, List<PipelineInput> images, List<PipelineInput> texts)
    {
        Spec = spec;
        Images = images;
        Texts = texts;
    }

    public MixtureSpec Spec { get; }
    public IReadOnlyList<PipelineInput> Images { get; }
    public IReadOnlyList<PipelineInput> Texts { get; }

    /// <summary>Reads every dataset; bad records follow each dataset's on_error and are counted in <paramref name="errors"/>.</summary>
    public static MixtureSource Load(MixtureSpec spec, DataErrorReport errors)
    {
        var images = new List<PipelineInput>();
        var texts = new List<PipelineInput>();
        foreach (var dataset in spec.Datasets)
        {
            var policy = new DataErrorPolicy(dataset.OnError, errors);
            var records = new List<PipelineInput>();
            foreach (var file in dataset.Files)
            {
                var root = ConversationReaders.ImageRoot(dataset, file);
                foreach (var conversation in ConversationReaders.For(dataset.Format).Read(file, dataset.Columns, policy))
                    records.Add(new PipelineInput(conversation, root, dataset.OnError));
            }
            (dataset.Kind == DatasetKind.Text ? texts : images).AddRange(Weighted(records, dataset.Weight, spec.Seed, dataset.Name));
        }
        return new MixtureSource(spec, images, texts);
    }

    public TextMixSampler CreateSampler() => new(Images.Count, Texts.Count, Spec.TextMix, Spec.Seed);

    public PipelineInput this[SampleDraw draw] => draw.IsText ? Texts[draw.Index] : Images[draw.Index];

    /// <summary>The inputs of one epoch, in draw order.</summary>
    public IEnumerable<PipelineInput> Epoch(TextMixSampler sampler, int epoch) => sampler.Epoch(epoch).Select(d => this[d]);

    /// <summary>The rest of the epoch from a saved state (for resuming a run exactly where it stopped).</summary>
    public IEnumerable<PipelineInput> ResumeFrom(TextMixSampler sampler, SamplerState state)
    {
        for (var p = state.Position; p < sampler.EpochLength; p++) yield return this[sampler.At(state.Epoch, p)];
    }

    static IEnumerable<PipelineInput> Weighted(List<PipelineInput> records, double weight, int seed, string name)
    {
        var whole = (int)Math.Floor(weight);
        for (var r = 0; r < whole; r++) foreach (var record in records) yield return record;
        var extra = (int)Math.Round((weight - whole) * records.Count);
        if (extra == 0) yield break;
        var order = new SeededRandom(seed, $"weight/{name}").Permutation(records.Count);
        foreach (var i in order.Take(extra).Order()) yield return records[i];
    }
}
