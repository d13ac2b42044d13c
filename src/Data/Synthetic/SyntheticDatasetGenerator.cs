using System.Globalization;
using System.Text;
using MultiLora.Data.Mixing;
using MultiLora.Data.Model;
using MultiLora.Data.Readers;

namespace MultiLora.Data.Synthetic;

/// <summary>What was written, with the counts.</summary>
public sealed record SynthSummary(string OutputFolder, int TrainImages, int Stage1Records, int Stage2Records, int TextRecords, int PopeQuestions, int MmBenchQuestions);

/// <summary>
/// Writes a learnable image-instruction data set of coloured shapes: stage-1 captions and stage-2 instructions
/// (LLaVA JSON), a text-only ShareGPT JSONL for mixing, eval splits in official shapes (MMBench TSV with base64
/// images: 4 options, chance 25%; POPE question JSONL: exactly half yes, chance 50%) and ready spec YAMLs.
/// Every random choice comes from <see cref="SeededRandom"/> streams of the seed: same seed, byte-identical files.
/// </summary>
public static class SyntheticDatasetGenerator
{
    public static SynthSummary Generate(string outputFolder, SynthOptions options)
    {
        if (options.Train <= 0 || options.Eval <= 0) throw new ArgumentException($"--train and --eval must be positive, got {options.Train} and {options.Eval}");
        var root = Path.GetFullPath(outputFolder);
        Directory.CreateDirectory(Path.Combine(root, SynthOutput.TrainImages));
        Directory.CreateDirectory(Path.Combine(root, SynthOutput.PopeImages));
        Directory.CreateDirectory(Path.Combine(root, SynthOutput.VqaImages));

        var scenes = WriteTrainImages(root, options);
        WriteStage1(root, scenes, options.Seed);
        WriteStage2(root, scenes, options.Seed);
        WriteTextOnly(root, options);
        WritePope(root, options);
        WriteMmBench(root, options);
        WriteVqa(root, options);
        WriteSpecs(root, options);
        return new SynthSummary(root, scenes.Count, scenes.Count, scenes.Count, options.Train, options.Eval, options.Eval);
    }

    static List<Scene> WriteTrainImages(string root, SynthOptions options)
    {
        var random = new SeededRandom(options.Seed, "train-scenes");
        var scenes = new List<Scene>(options.Train);
        for (var i = 0; i < options.Train; i++)
        {
            var scene = SceneSampler.Sample(random);
            scenes.Add(scene);
            File.WriteAllBytes(Path.Combine(root, SynthOutput.TrainImages, SynthOutput.ImageName(i)), PngEncoder.Encode(SceneRenderer.Render(scene, options.Resolution)));
        }
        return scenes;
    }

    static void WriteStage1(string root, List<Scene> scenes, int seed)
    {
        var random = new SeededRandom(seed, "stage1");
        using var writer = new LlavaJsonWriter(Path.Combine(root, SynthOutput.Stage1), jsonLines: false);
        for (var i = 0; i < scenes.Count; i++)
        {
            var turns = new[]
            {
                new Turn(Speaker.Human, $"{ImagePlaceholder.Token}\n{SceneQuestions.CaptionPrompt(random)}"),
                new Turn(Speaker.Gpt, SceneQuestions.Caption(scenes[i])),
            };
            writer.Write(new Conversation($"cap-{i:D6}", turns, null, "synth"), TrainImagePath(i));
        }
    }

    static void WriteStage2(string root, List<Scene> scenes, int seed)
    {
        var random = new SeededRandom(seed, "stage2");
        using var writer = new LlavaJsonWriter(Path.Combine(root, SynthOutput.Stage2), jsonLines: false);
        for (var i = 0; i < scenes.Count; i++)
        {
            var turns = new List<Turn>();
            var pairs = random.Next(1, 4);
            for (var q = 0; q < pairs; q++)
            {
                // A third of the turns are in the eval splits' own formats (as LLaVA-1.5's mix holds A-OKVQA
                // multiple choice and VQA yes/no): 4-option letter questions and balanced existence questions.
                var (text, answer) = random.Next(3) switch
                {
                    0 => MultipleChoiceTurn(scenes[i], random),
                    1 => ShortAnswerTurn(SceneQuestions.Existence(scenes[i], random.NextBool(), random)),
                    _ => ShortAnswerTurn(SceneQuestions.Any(scenes[i], random)),
                };
                turns.Add(new Turn(Speaker.Human, q == 0 ? $"{ImagePlaceholder.Token}\n{text}" : text));
                turns.Add(new Turn(Speaker.Gpt, answer));
            }
            writer.Write(new Conversation($"inst-{i:D6}", turns, null, "synth"), TrainImagePath(i));
        }
    }

    static (string Text, string Answer) ShortAnswerTurn(SceneQuestion question) =>
        ($"{question.Question}\n{SceneQuestions.ShortAnswerSuffix}", Capitalise(question.Answer));

    static (string Text, string Answer) MultipleChoiceTurn(Scene scene, SeededRandom random)
    {
        var (question, options, letter) = SceneQuestions.MultipleChoice(scene, random);
        return (SceneQuestions.MultipleChoicePrompt(question.Question, options), letter.ToString());
    }

    static void WriteTextOnly(string root, SynthOptions options)
    {
        var random = new SeededRandom(options.Seed, "text-only");
        using var writer = new LlavaJsonWriter(Path.Combine(root, SynthOutput.TextOnly), jsonLines: true);
        for (var i = 0; i < options.Train; i++)
        {
            var (question, answer) = TextOnlyInstructions.Sample(random);
            writer.Write(new Conversation($"text-{i:D6}", [new Turn(Speaker.Human, question), new Turn(Speaker.Gpt, answer)], null, "synth"));
        }
    }

    /// <summary>POPE's question file: {"question_id", "image", "text", "label"}; labels alternate so exactly half are "yes".</summary>
    static void WritePope(string root, SynthOptions options)
    {
        var random = new SeededRandom(options.Seed, "pope");
        using var writer = new LlavaJsonWriter(Path.Combine(root, SynthOutput.PopeQuestions), jsonLines: true);
        for (var i = 0; i < options.Eval; i++)
        {
            var scene = SceneSampler.Sample(random);
            var image = SynthOutput.ImageName(i);
            File.WriteAllBytes(Path.Combine(root, SynthOutput.PopeImages, image), PngEncoder.Encode(SceneRenderer.Render(scene, options.Resolution)));
            var question = SceneQuestions.Existence(scene, present: i % 2 == 0, random);
            writer.WriteRaw(w =>
            {
                w.WriteStartObject();
                w.WriteNumber("question_id", i + 1);
                w.WriteString("image", image);
                w.WriteString("text", question.Question);
                w.WriteString("label", question.Answer);
                w.WriteEndObject();
            });
        }
    }

    /// <summary>MMBench's TSV: index, question, hint, A-D, answer (a letter), category, image (base64 PNG).</summary>
    static void WriteMmBench(string root, SynthOptions options)
    {
        var random = new SeededRandom(options.Seed, "mmbench");
        var text = new StringBuilder("index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\timage\n");
        for (var i = 0; i < options.Eval; i++)
        {
            var scene = SceneSampler.Sample(random);
            var (question, choices, letter) = SceneQuestions.MultipleChoice(scene, random);
            var png = PngEncoder.Encode(SceneRenderer.Render(scene, options.Resolution));
            text.Append(CultureInfo.InvariantCulture, $"{i}\t{question.Question}\t\t{string.Join('\t', choices)}\t{letter}\t{question.Category}\t{Convert.ToBase64String(png)}\n");
        }
        File.WriteAllText(Path.Combine(root, SynthOutput.MmBench), text.ToString(), new UTF8Encoding(false));
    }

    /// <summary>
    /// Open questions read straight off the image (colour, shape, count), in GQA's questions-JSON format
    /// (qid -> imageId, question, answer) and scored by exact match: chance is 25% for colour and shape.
    /// </summary>
    static void WriteVqa(string root, SynthOptions options)
    {
        var random = new SeededRandom(options.Seed, "vqa");
        var questions = new System.Text.Json.Nodes.JsonObject();
        for (var i = 0; i < options.Eval; i++)
        {
            var scene = SceneSampler.Sample(random);
            var image = SynthOutput.ImageName(i);
            File.WriteAllBytes(Path.Combine(root, SynthOutput.VqaImages, image), PngEncoder.Encode(SceneRenderer.Render(scene, options.Resolution)));
            var question = random.Next(3) switch
            {
                0 => SceneQuestions.Colour(scene, random),
                1 => SceneQuestions.Shape(scene, random),
                _ => SceneQuestions.Count(scene),
            };
            questions[$"q{i:D5}"] = new System.Text.Json.Nodes.JsonObject { ["imageId"] = image, ["question"] = question.Question, ["answer"] = question.Answer, ["category"] = question.Category };
        }
        File.WriteAllText(Path.Combine(root, SynthOutput.VqaQuestions), questions.ToJsonString(), new UTF8Encoding(false));
    }

    static void WriteSpecs(string root, SynthOptions options)
    {
        var seed = options.Seed.ToString(CultureInfo.InvariantCulture);
        var mix = options.TextMix.ToString("0.###", CultureInfo.InvariantCulture);
        Write(root, SynthOutput.Stage1Spec, $"""
            # Stage 1 (projector pre-training): captions of the training images.
            name: synth-stage1
            files: [{SynthOutput.Stage1}]
            format: json
            image_root: .
            kind: image
            on_error: fail
            """);
        Write(root, SynthOutput.Stage2Spec, $"""
            # Stage 2 (instruction tuning): shape questions mixed with text-only instructions.
            text_mix: {mix}
            seed: {seed}
            datasets:
              - name: synth-instruct
                files: [{SynthOutput.Stage2}]
                format: json
                image_root: .
                kind: image
              - name: synth-text
                files: [{SynthOutput.TextOnly}]
                format: jsonl
                kind: text
            """);
        Write(root, SynthOutput.PopeSpec, $"""
            # POPE-style yes/no existence questions (exactly half "yes": chance 50%).
            name: synth-pope
            files: [{SynthOutput.PopeQuestions}]
            format: jsonl
            columns: {"{"}id: question_id, question: text, answer: label, image: image{"}"}
            image_root: {SynthOutput.PopeImages}
            kind: image
            """);
        Write(root, SynthOutput.MmBenchSpec, $"""
            # MMBench-style 4-option questions (chance 25%); the options are in columns A-D, the answer is a letter.
            name: synth-mmbench
            files: [{SynthOutput.MmBench}]
            format: tsv
            columns: {"{"}id: index, question: question, answer: answer, image_base64: image{"}"}
            kind: image
            """);
    }

    static void Write(string root, string name, string text) =>
        File.WriteAllText(Path.Combine(root, name), text.ReplaceLineEndings("\n") + "\n", new UTF8Encoding(false));

    static string TrainImagePath(int index) => $"{SynthOutput.TrainImages}/{SynthOutput.ImageName(index)}";

    static string Capitalise(string word) => word.Length == 0 ? word : char.ToUpperInvariant(word[0]) + word[1..];
}
