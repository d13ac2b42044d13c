namespace MultiLora.Data.Synthetic;

/// <summary>The file names the generator writes under its output folder, in one place (specs refer to them).</summary>
public static class SynthOutput
{
    public const string TrainImages = "images/train";
    public const string Stage1 = "stage1_captions.json";
    public const string Stage2 = "stage2_instruct.json";
    public const string TextOnly = "text_sharegpt.jsonl";
    public const string PopeQuestions = "eval/pope.jsonl";
    public const string PopeImages = "eval/pope_images";
    public const string MmBench = "eval/mmbench.tsv";
    public const string VqaQuestions = "eval/vqa.json";
    public const string VqaImages = "eval/vqa_images";
    public const string Stage1Spec = "stage1.yaml";
    public const string Stage2Spec = "stage2.yaml";
    public const string PopeSpec = "eval_pope.yaml";
    public const string MmBenchSpec = "eval_mmbench.yaml";

    public static string ImageName(int index) => $"{index:D6}.png";
}
