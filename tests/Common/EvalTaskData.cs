using System.Text.Json;

namespace MultiLora.Tests.Common;

/// <summary>
/// Small POPE and MMBench folders in the layouts the built-in tasks read, written in one place so every test that
/// evaluates follows a layout change together: LLaVA's POPE layout (the combined question file pope/llava_pope_test.jsonl
/// and POPE's label file pope/coco/coco_pope_random.json, images in pope/val2014, the fixture image as square.png) and
/// MMBench's dev TSV with base64 images (the fixture image in every row).
/// </summary>
public static class EvalTaskData
{
    public sealed record PopeQuestion(int Id, string Image, string Text, string Label);

    /// <summary>One MMBench row without its index and image: question, hint, options A-D ("nan" when absent), answer, category.</summary>
    public sealed record MmbenchQuestion(string Question, string Hint, string A, string B, string C, string D, string Answer, string Category);

    public static void Write(string root, IReadOnlyList<PopeQuestion> pope, IReadOnlyList<MmbenchQuestion> mmbench)
    {
        Directory.CreateDirectory(Path.Combine(root, "pope", "val2014"));
        File.Copy(Fixture.Path("image.png"), Path.Combine(root, "pope", "val2014", "square.png"));
        Directory.CreateDirectory(Path.Combine(root, "pope", "coco"));
        File.WriteAllLines(Path.Combine(root, "pope", "coco", "coco_pope_random.json"),
            pope.Select(q => JsonSerializer.Serialize(new { question_id = q.Id, image = q.Image, text = q.Text, label = q.Label })));
        File.WriteAllLines(Path.Combine(root, "pope", "llava_pope_test.jsonl"),
            pope.Select(q => JsonSerializer.Serialize(new { question_id = q.Id, image = q.Image, text = q.Text, category = "random" })));

        string image = Convert.ToBase64String(File.ReadAllBytes(Fixture.Path("image.png")));
        Directory.CreateDirectory(Path.Combine(root, "mmbench"));
        File.WriteAllLines(Path.Combine(root, "mmbench", "mmbench_dev_20230712.tsv"),
            mmbench.Select((q, i) => string.Join('\t', i, q.Question, q.Hint, q.A, q.B, q.C, q.D, q.Answer, q.Category, image))
                .Prepend("index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\timage"));
    }
}
