using MultiLora.Eval.Judge;
using MultiLora.Eval.Tasks;

namespace MultiLora.Eval.Scoring;

/// <summary>Builds the scorer a task names; judged scorers get the judge (or null for the offline fallback).</summary>
public static class ScorerFactory
{
    public static IScorer Create(TaskDefinition task, JudgeClient? judge) => task.Scorer switch
    {
        "choice" => new ChoiceScorer(task.AnswerParser),
        "pope" => new PopeScorer(),
        "vqa" => new VqaScorer(),
        "exact_match" => new ExactMatchScorer(task.AnswerParser),
        "llava_bench" => new LlavaBenchScorer(judge),
        "mmvet" => new MmVetScorer(judge),
        _ => throw new InvalidDataException($"{task.Origin}: unknown scorer '{task.Scorer}'"),
    };
}
