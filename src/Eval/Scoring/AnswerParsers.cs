using MultiLora.Eval.Samples;

namespace MultiLora.Eval.Scoring;

/// <summary>A task's answer post-processing by name (TaskVocabulary.AnswerParsers); null = could not parse.</summary>
public static class AnswerParsers
{
    public static string? Parse(string parser, string prediction, EvalSample sample) => parser switch
    {
        "option_letter" => OptionExtractor.Extract(prediction, sample.Choices),
        "scienceqa_letter" => ScienceQaLetter.Extract(prediction, sample.Choices),
        "pope_yes_no" => PopeAnswer.Parse(prediction),
        "vqa" => VqaNormalizer.Normalize(prediction),
        // LLaVA's GQA conversion: strip a trailing period, lower-case.
        "gqa" => prediction.Trim().TrimEnd('.').ToLowerInvariant(),
        "raw" => prediction.Trim(),
        _ => throw new ArgumentException($"unknown answer parser '{parser}'"),
    };
}
