using MultiLora.Data.Errors;
using MultiLora.Data.Mixing;
using MultiLora.Data.Readers;
using MultiLora.Data.Specs;

namespace MultiLora.Data.Pipeline;

/// <summary>
/// The records of a mixture in two pools and their draw order per epoch (<see cref="TextMixSampler"/> at the
/// spec's text_mix and seed). With text_mix > 0 the pools split by record: <see cref="Main"/> holds the records
/// with an image, <see cref="TextOnly"/> those without (from text datasets, and the text-only records that files
/// such as llava_v1_5_mix665k.json carry among image records). With text_mix 0 every record is in
/// <see cref="Main"/> in its natural proportion, so no text-only record is silently left out.
/// Records are read once and kept in memory (conversations only: images are loaded by the pipeline).
/// A dataset's weight repeats its records: weight 2 twice, weight 0.5 a seeded half of them.
/// </summary>
public sealed class MixtureSource
{
    MixtureSource(MixtureSpec spec, List<PipelineInput> main, List<PipelineInput> textOnly)
    {
        Spec = spec;
        Main = main;
        TextOnly = textOnly;
    }

    public MixtureSpec Spec { get; }
    /// <summary>The records drawn once per epoch.</summary>
    public IReadOnlyList<PipelineInput> Main { get; }
    /// <summary>Text-only records drawn at text_mix (empty when text_mix is 0).</summary>
    public IReadOnlyList<PipelineInput> TextOnly { get; }

    /// <summary>Reads every dataset; bad records follow each dataset's on_error and are counted in <paramref name="errors"/>.</summary>
    public static MixtureSource Load(MixtureSpec spec, DataErrorReport errors)
    {
        var main = new List<PipelineInput>();
        var textOnly = new List<PipelineInput>();
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
            foreach (var record in Weighted(records, dataset.Weight, spec.Seed, dataset.Name))
                (spec.TextMix > 0 && !record.Conversation.HasImage ? textOnly : main).Add(record);
        }
        return new MixtureSource(spec, main, textOnly);
    }

    public TextMixSampler CreateSampler() => new(Main.Count, TextOnly.Count, Spec.TextMix, Spec.Seed);

    public PipelineInput this[SampleDraw draw] => draw.IsText ? TextOnly[draw.Index] : Main[draw.Index];

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
