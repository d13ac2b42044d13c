using MultiLora.Data.Errors;
using MultiLora.Data.Model;
using MultiLora.Data.Specs;

namespace MultiLora.Data.Pipeline;

/// <summary>Token statistics, present only when an encoder was supplied.</summary>
public sealed record TokenStatistics(int P50, int P90, int P99, int Max, long TotalTokens, long LabelTokens, int OverMaxLength);

/// <summary>What <see cref="DatasetInspector"/> found.</summary>
public sealed record InspectionReport(
    int Samples, int ImageSamples, int TextOnlySamples, IReadOnlyDictionary<string, int> SamplesPerDataset,
    TokenStatistics? Tokens, IReadOnlyList<string> RenderedSamples, DataErrorReport Errors);

/// <summary>
/// Looks over a mixture without training on it: counts, token-length percentiles and label tokens (when an
/// encoder is given), a few samples rendered as text, and every bad record found. Bad records are collected
/// whatever the datasets' on_error (the point is to see them all); image files are checked to exist and
/// decoded only when <paramref name="decodeImages"/> is set.
/// </summary>
public static class DatasetInspector
{
    public const int DefaultRenderedSamples = 3;

    public static InspectionReport Inspect(MixtureSpec spec, IConversationEncoder? encoder = null, int? maxLength = null,
        int renderSamples = DefaultRenderedSamples, bool decodeImages = false)
    {
        var errors = new DataErrorReport();
        var collecting = spec with { Datasets = [.. spec.Datasets.Select(d => d with { OnError = OnError.Skip })] };
        var source = MixtureSource.Load(collecting with { Datasets = [.. collecting.Datasets.Select(d => d with { Weight = 1 })] }, errors);
        var perDataset = new Dictionary<string, int>();
        var lengths = new List<int>();
        long labelTokens = 0;
        var rendered = new List<string>();
        int imageSamples = 0, textSamples = 0, overMax = 0;

        foreach (var input in source.Main.Concat(source.TextOnly))
        {
            var c = input.Conversation;
            try
            {
                ConversationValidator.Validate(c);
                if (c.Image is { } image)
                {
                    if (decodeImages) ImageLoader.Load(image, input.ImageRoot, c.Origin);
                    else ImageLoader.LoadBytes(image, input.ImageRoot, c.Origin);
                }
                if (encoder is not null)
                {
                    EncodedSample encoded;
                    try { encoded = encoder.Encode(c); }
                    catch (Exception e) { throw new DataRecordException(DataErrorKind.EncoderRejected, c.Origin, $"encoder rejected the sample ({e.Message})", e); }
                    lengths.Add(encoded.Length);
                    labelTokens += encoded.LabelTokenCount;
                    if (maxLength is int max && encoded.Length > max) overMax++;
                }
            }
            catch (DataRecordException e) { errors.Record(e); continue; }
            if (c.HasImage) imageSamples++; else textSamples++;
            var dataset = DatasetOf(spec, c.Origin);
            perDataset[dataset] = perDataset.GetValueOrDefault(dataset) + 1;
            if (rendered.Count < renderSamples) rendered.Add(Render(c));
        }

        return new InspectionReport(imageSamples + textSamples, imageSamples, textSamples, perDataset,
            encoder is null ? null : Statistics(lengths, labelTokens, overMax), rendered, errors);
    }

    /// <summary>A conversation as readable text: id, origin, image, then "human: ..." / "gpt: ..." lines.</summary>
    public static string Render(Conversation c)
    {
        var lines = new List<string> { $"[{c.Id}] {c.Origin}" + (c.Image is null ? " (text-only)" : $" image={c.Image}") };
        lines.AddRange(c.Turns.Select(t => $"  {t.From.ToString().ToLowerInvariant()}: {t.Value.ReplaceLineEndings("\\n")}"));
        return string.Join('\n', lines);
    }

    static string DatasetOf(MixtureSpec spec, string origin)
    {
        var file = origin[..origin.LastIndexOf('#')];
        return spec.Datasets.FirstOrDefault(d => d.Files.Contains(file))?.Name ?? file;
    }

    static TokenStatistics Statistics(List<int> lengths, long labelTokens, int overMax)
    {
        if (lengths.Count == 0) return new TokenStatistics(0, 0, 0, 0, 0, 0, 0);
        lengths.Sort();
        // Nearest-rank percentile.
        int P(double q) => lengths[Math.Clamp((int)Math.Ceiling(q * lengths.Count) - 1, 0, lengths.Count - 1)];
        return new TokenStatistics(P(0.5), P(0.9), P(0.99), lengths[^1], lengths.Sum(l => (long)l), labelTokens, overMax);
    }
}
