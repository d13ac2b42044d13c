using System.Text.Json;
using MultiLora.Eval;

namespace MultiLora.Eval.Tests;

/// <summary>A deterministic model: the reply is a function of the request; counts requests and batches.</summary>
sealed class FakeModel(Func<EvalRequest, string> reply) : IEvalModel
{
    public int Requests { get; private set; }
    public List<int> BatchSizes { get; } = [];
    public Action<int>? AfterBatch { get; init; }
    public string Describe => "fake-model";

    public IReadOnlyList<string> Generate(IReadOnlyList<EvalRequest> batch, CancellationToken ct)
    {
        BatchSizes.Add(batch.Count);
        Requests += batch.Count;
        var replies = batch.Select(reply).ToList();
        AfterBatch?.Invoke(BatchSizes.Count);
        return replies;
    }
}

/// <summary>Writes small benchmark files in their official formats.</summary>
static class TestFiles
{
    /// <summary>A valid 2x2 24-bit BMP (decodable by the managed decoder).</summary>
    public static byte[] Bmp()
    {
        var b = new byte[70];
        b[0] = (byte)'B'; b[1] = (byte)'M'; BitConverter.GetBytes(70).CopyTo(b, 2); BitConverter.GetBytes(54).CopyTo(b, 10);
        BitConverter.GetBytes(40).CopyTo(b, 14); BitConverter.GetBytes(2).CopyTo(b, 18); BitConverter.GetBytes(2).CopyTo(b, 22);
        BitConverter.GetBytes((short)1).CopyTo(b, 26); BitConverter.GetBytes((short)24).CopyTo(b, 28); BitConverter.GetBytes(16).CopyTo(b, 34);
        for (var i = 54; i < 70; i++) b[i] = 0x80;
        return b;
    }

    public static void WriteImage(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, Bmp());
    }

    public static void WriteJsonl(string path, IEnumerable<object> rows)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path, rows.Select(r => JsonSerializer.Serialize(r)));
    }

    public static void WriteJson(string path, object value)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, JsonSerializer.Serialize(value));
    }

    /// <summary>
    /// POPE in LLaVA's layout: pope/llava_pope_test.jsonl (question ids 1-5, two categories) and POPE's label files in
    /// pope/coco; replies keyed by question text (see PopeReplies).
    /// </summary>
    public static void WritePope(string root)
    {
        foreach (var img in new[] { "a.bmp", "b.bmp" }) WriteImage(Path.Combine(root, "pope", "val2014", img));
        (int Id, string Image, string Obj, string Label, string Category)[] rows =
        [
            (1, "a.bmp", "dog", "yes", "random"), (2, "a.bmp", "cat", "no", "random"), (3, "b.bmp", "horse", "yes", "random"),
            (4, "b.bmp", "car", "no", "popular"), (5, "a.bmp", "person", "yes", "popular"),
        ];
        foreach (var category in new[] { "random", "popular" })
            WriteJsonl(Path.Combine(root, "pope", "coco", $"coco_pope_{category}.json"), rows.Where(r => r.Category == category)
                .Select((r, i) => (object)new { question_id = i + 1, image = r.Image, text = $"Is there a {r.Obj} in the image?", label = r.Label }));
        WriteJsonl(Path.Combine(root, "pope", "llava_pope_test.jsonl"), rows.Select(r => (object)new
        {
            question_id = r.Id, image = r.Image, text = $"Is there a {r.Obj} in the image?\nAnswer the question using a single word or phrase.", category = r.Category,
        }));
    }

    public static readonly Dictionary<string, string> PopeReplies = new()
    {
        ["dog"] = "Yes, there is a dog in the image.", // yes, label yes: TP
        ["cat"] = "No.",                               // no, label no: TN
        ["horse"] = "There is no horse.",              // no, label yes: FN
        ["car"] = "Yes",                               // yes, label no: FP
        ["person"] = "yes",                            // yes, label yes: TP
    };

    public static string PopeReply(string prompt) => PopeReplies.First(kv => prompt.Contains(" " + kv.Key + " ")).Value;

    /// <summary>MMBench dev TSV (not circular): Q0 options cat/dog/bird answer A; Q1 options red/blue answer B.</summary>
    public static void WriteMmbench(string root, string name = "mmbench_dev_20230712.tsv")
    {
        var img = Convert.ToBase64String(Bmp());
        var lines = new[]
        {
            "index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\tl2-category\timage",
            $"0\tWhich animal is shown?\tnan\tcat\tdog\tbird\tnan\tA\tanimals\tperception\t{img}",
            $"1\tWhat colour is the \"sky\"?\tLook up.\tred\tblue\tnan\tnan\tB\tcolors\tperception\t{img}",
        };
        Directory.CreateDirectory(Path.Combine(root, "mmbench"));
        File.WriteAllText(Path.Combine(root, "mmbench", name), string.Join("\n", lines) + "\n");
    }

    /// <summary>Q0: always the letter of "cat" (right in every rotation); Q1: always "A" (right in one rotation only).</summary>
    public static string MmbenchReply(string prompt)
    {
        if (prompt.Contains("Which animal"))
        {
            var line = prompt.Split('\n').First(l => l.EndsWith(". cat"));
            return $"The answer is {line[0]}.";
        }
        return "A";
    }

    /// <summary>TextVQA: three questions whose official accuracies are 0.9, 1.0 and 0.3 (worked out in the tests).</summary>
    public static void WriteTextVqa(string root)
    {
        foreach (var img in new[] { "t1", "t2", "t3" }) WriteImage(Path.Combine(root, "textvqa", "train_images", img + ".jpg"));
        WriteJson(Path.Combine(root, "textvqa", "TextVQA_0.5.1_val.json"), new
        {
            dataset_name = "textvqa",
            data = new object[]
            {
                new { question_id = 11, question = "what brand is the drink?", image_id = "t1", answers = Enumerable.Repeat("coca cola", 3).Concat(Enumerable.Repeat("coke", 7)).ToArray() },
                new { question_id = 12, question = "how many cups are there?", image_id = "t2", answers = Enumerable.Repeat("2", 10).ToArray() },
                new { question_id = 13, question = "what animal is this?", image_id = "t3", answers = new[] { "dog" }.Concat(Enumerable.Repeat("cat", 9)).ToArray() },
            },
        });
    }

    public static string TextVqaReply(string prompt) =>
        prompt.Contains("brand") ? "Coca-Cola." : prompt.Contains("cups") ? "two" : "a dog";
}
