using MultiLora.Eval.Samples;
using MultiLora.Eval.Scoring.Vqa;
using MultiLora.Eval.Text;

namespace MultiLora.Eval.Scoring;

/// <summary>A task's answer post-processing by name (TaskVocabulary.AnswerParsers), for the generic scorers; null = could not parse.</summary>
public static class AnswerParsers
{
    public static string? Parse(string parser, string prediction, EvalSample sample) => parser switch
    {
        "option_letter" => OptionExtractor.Extract(prediction, sample.Choices),
        "scienceqa_letter" => ScienceQaLetter.Extract(prediction, sample.Choices),
        "pope_yes_no" => PopeAnswer.Parse(prediction),
        "vqa" => VqaText.EvalAi(prediction),
        // LLaVA's convert_gqa_for_eval.py: text.rstrip('.').lower().
        "gqa" => GqaScorer.Convert(prediction),
        "raw" => PyStr.Strip(prediction),
        _ => throw new ArgumentException($"unknown answer parser '{parser}'"),
    };
}
