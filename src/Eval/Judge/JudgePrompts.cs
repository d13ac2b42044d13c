namespace MultiLora.Eval.Judge;

/// <summary>
/// The community judge prompts, kept as embedded text so scores stay comparable: LLaVA-Bench's rule
/// (llava/eval/table/rule.json, llava_bench_* entries, identical for conv/detail/complex) and MM-Vet's grader.
/// </summary>
public static class JudgePrompts
{
    public const string LlavaBenchSystem = "You are a helpful and precise assistant for checking the quality of the answer.";
    public const string LlavaBenchRole = "Assistant";
    public static readonly string LlavaBenchRule = Load("llava_bench_rule.txt");
    public static readonly string MmVetGrader = Load("mmvet_grader.txt");

    static string Load(string name)
    {
        using var s = typeof(JudgePrompts).Assembly.GetManifestResourceStream("MultiLora.Eval.Judge.Prompts." + name)
            ?? throw new InvalidOperationException($"judge prompt resource '{name}' missing from the assembly");
        return new StreamReader(s).ReadToEnd();
    }
}
