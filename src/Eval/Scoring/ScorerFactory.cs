using MultiLora.Eval.Judge;
using MultiLora.Eval.Tasks;

namespace MultiLora.Eval.Scoring;

/// <summary>Builds the scorer a task names (TaskVocabulary.Scorers); judged scorers get the judge (or null for the offline fallback).</summary>
public static class ScorerFactory
{
    public static IScorer Create(TaskDefinition task, IJudge? judge) => task.Scorer switch
    {
        "llava_pope" or "pope" => new PopeScorer(),
        "m4c_textvqa" or "vqa" => new TextVqaScorer(),
        "vqav2_official" => new Vqav2Scorer(),
        "vizwiz_official" => new VizWizScorer(),
        "gqa_official" => new GqaScorer(),
        "llava_scienceqa" => new ScienceQaScorer(),
        "vlmevalkit_circular" => new CircularChoiceScorer(),
        "llava_bench" => new LlavaBenchScorer(judge),
        "mmvet" => new MmVetScorer(judge),
        "choice" => new ChoiceScorer(Parser(task)),
        "exact_match" => new ExactMatchScorer(Parser(task)),
        _ => throw new InvalidDataException($"{task.Origin}: unknown scorer '{task.Scorer}'"),
    };

    static string Parser(TaskDefinition task) =>
        task.AnswerParser ?? throw new InvalidDataException($"{task.Origin}: scorer '{task.Scorer}' needs key 'answer_parser'");
}
