using MultiLora.Eval.Running;
using MultiLora.Eval.Tasks;
using MultiLora.Tests.Common;

namespace MultiLora.Eval.Tests;

public class TaskDefinitionTests
{
    const string Minimal = "name: mine\nformat: pope_jsonl\ndata: d/*.jsonl\nprompt: \"{question}\"\nsuffix: short_answer\nanswer_parser: pope_yes_no\nscorer: pope\nmetrics: [accuracy, f1]\nmax_new_tokens: 16\n";

    [Fact]
    public void BuiltInTasks_AllLoadWithTheStandardSuffixes()
    {
        var catalog = TaskCatalog.Load();
        Assert.Equal(["gqa", "llava_bench", "mmbench", "mmvet", "pope", "scienceqa_img", "synth_mmbench", "synth_pope", "synth_vqa", "textvqa", "vizwiz", "vqav2"], catalog.All.Select(t => t.Name).Order());
        Assert.Equal("Answer with the option's letter from the given choices directly.", catalog.Get("mmbench").Suffix);
        Assert.Equal("Answer the question using a single word or phrase.", catalog.Get("pope").Suffix);
        Assert.True(catalog.Get("mmbench").Circular);
        Assert.False(catalog.Get("synth_mmbench").Circular);   // the synthetic split reports single-pass accuracy (chance 25%)
    }

    [Fact]
    public void BuiltInTasks_NameTheReferenceImplementationTheyReproduce()
    {
        foreach (var task in TaskCatalog.Load().All)
        {
            Assert.NotEmpty(task.Reproduces!);
            Assert.All(task.Reproduces!, r =>
            {
                Assert.Matches("^[0-9a-f]{40}$", r.Commit);
                Assert.Contains('/', r.Repository);
                Assert.NotEmpty(r.Files);
            });
        }
        Assert.Equal("haotian-liu/LLaVA", TaskCatalog.Load().Get("pope").Reproduces![0].Repository);
        Assert.Equal(["haotian-liu/LLaVA", "GT-Vision-Lab/VQA"], TaskCatalog.Load().Get("vqav2").Reproduces!.Select(r => r.Repository));
    }

    [Fact]
    public void TaskYaml_ReproducesEntriesAreChecked()
    {
        var ok = TaskYaml.Parse(Minimal + "reproduces:\n  repository: a/b\n  commit: abc\n  files: [x.py, y.py]\n", "t.yaml");
        Assert.Equal(new[] { "x.py", "y.py" }, ok.Reproduces![0].Files);
        var e = Assert.Throws<InvalidDataException>(() => TaskYaml.Parse(Minimal + "reproduces:\n  repository: a/b\n  files: [x.py]\n", "t.yaml"));
        Assert.Contains("'commit'", e.Message);
        e = Assert.Throws<InvalidDataException>(() => TaskYaml.Parse(Minimal + "reproduces:\n  repo: a/b\n", "t.yaml"));
        Assert.Contains("'repo'", e.Message);
    }

    [Fact]
    public void TaskYaml_AReferenceScorerKeepsItsOwnAnswerParsing()
    {
        // llava_pope reads replies as eval_pope.py does; another parser would silently mix two scorings.
        var e = Assert.Throws<InvalidDataException>(() => TaskYaml.Parse(Minimal.Replace("answer_parser: pope_yes_no", "answer_parser: raw"), "t.yaml"));
        Assert.Contains("'answer_parser'", e.Message);
        Assert.Contains("t.yaml", e.Message);
        // A generic scorer needs one.
        e = Assert.Throws<InvalidDataException>(() => TaskYaml.Parse(Minimal.Replace("answer_parser: pope_yes_no\n", "").Replace("scorer: pope", "scorer: exact_match").Replace("metrics: [accuracy, f1]", "metrics: [exact_match]"), "t.yaml"));
        Assert.Contains("needs key 'answer_parser'", e.Message);
    }

    [Fact]
    public void TaskYaml_UnknownKeyIsAnErrorNamingKeyAndFile()
    {
        var e = Assert.Throws<InvalidDataException>(() => TaskYaml.Parse(Minimal + "temperature: 0\n", "my/task.yaml"));
        Assert.Contains("my/task.yaml", e.Message);
        Assert.Contains("'temperature'", e.Message);
    }

    [Theory]
    [InlineData("metrics: [accuracy, f1]", "metrics: [bleu]", "'bleu'")]
    [InlineData("scorer: pope", "scorer: magic", "'magic'")]
    [InlineData("\"{question}\"", "\"{questoin}\"", "{questoin}")]
    [InlineData("max_new_tokens: 16", "max_new_tokens: lots", "'lots'")]
    public void TaskYaml_BadValuesAreErrorsNamingThem(string from, string to, string named)
    {
        var e = Assert.Throws<InvalidDataException>(() => TaskYaml.Parse(Minimal.Replace(from, to), "t.yaml"));
        Assert.Contains(named, e.Message);
        Assert.Contains("t.yaml", e.Message);
    }

    [Fact]
    public void TaskYaml_MissingRequiredKeyIsNamed()
    {
        var e = Assert.Throws<InvalidDataException>(() => TaskYaml.Parse(Minimal.Replace("scorer: pope\n", ""), "t.yaml"));
        Assert.Contains("'scorer'", e.Message);
    }

    [Fact]
    public void UserTask_FromAFolder_RunsWithoutCSharp()
    {
        using var data = Fixture.Temp();
        using var tasks = Fixture.Temp();
        using var run = Fixture.Temp();
        TestFiles.WritePope(data.Path);
        File.WriteAllText(tasks.File("mine.yaml"), Minimal.Replace("d/*.jsonl", "pope/coco/coco_pope_random.json").Replace("name: mine", "name: pope_random_only") + "image_root: pope/val2014\n");
        var maxNewTokens = new List<int>();
        var model = new FakeModel(r => { maxNewTokens.Add(r.MaxNewTokens); return TestFiles.PopeReply(r.Prompt); });
        var results = EvalRunner.Run(model, new EvalRunOptions(["pope_random_only"], data.Path, run.Path, TaskPaths: [tasks.Path]));
        var m = results.Tasks.Single().Metrics;
        Assert.Equal(["accuracy", "coverage", "f1", "failed", "n"], m.Keys.Order());  // only the metrics asked for (plus counts)
        Assert.Equal(100.0 * 2 / 3, m["accuracy"], 6);                     // dog TP, cat TN, horse FN
        Assert.Equal([16, 16, 16], maxNewTokens);                          // the task's max_new_tokens reaches the model
    }

    [Fact]
    public void MissingDataFile_IsAnErrorNamingIt()
    {
        using var data = Fixture.Temp();
        var e = Assert.Throws<FileNotFoundException>(() => EvalRunner.Run(new FakeModel(_ => ""), new EvalRunOptions(["textvqa"], data.Path, data.File("run"))));
        Assert.Contains("TextVQA_0.5.1_val.json", e.Message);
    }
}
