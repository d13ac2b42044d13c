using System.CommandLine;
using MultiLora.Data.Pipeline;
using MultiLora.Data.Readers;
using MultiLora.Data.Specs;
using MultiLora.Data.Synthetic;
using MultiLora.Data.Text;
using MultiLora.Data.Templates;
using MultiLora.Data.Errors;
using Spectre.Console;

namespace MultiLora.Cli.Commands;

/// <summary>`multilora data synth|convert|inspect`: make, convert and look over training data.</summary>
static class DataCommands
{
    public static Command Create()
    {
        var data = new Command("data", "Make, convert and inspect image-instruction datasets.");
        data.Subcommands.Add(Synth());
        data.Subcommands.Add(Convert());
        data.Subcommands.Add(Inspect());
        return data;
    }

    static Command Synth()
    {
        var outDir = new Option<string>("--out") { Description = "Output folder", Required = true };
        var resolution = new Option<int>("--resolution") { Description = "Image side in pixels", DefaultValueFactory = _ => SynthOptions.DefaultResolution };
        var train = new Option<int>("--train") { Description = "Training images (stage-1 captions, stage-2 instructions, text-only records)", DefaultValueFactory = _ => SynthOptions.DefaultTrain };
        var eval = new Option<int>("--eval") { Description = "Questions in each eval split (POPE, MMBench)", DefaultValueFactory = _ => SynthOptions.DefaultEval };
        var seed = new Option<int>("--seed") { Description = "Seed: the same seed writes byte-identical files", DefaultValueFactory = _ => 0 };
        var command = new Command("synth", "Write a learnable synthetic data set of coloured shapes, with eval splits and spec YAMLs.");
        foreach (var o in new Option[] { outDir, resolution, train, eval, seed }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var summary = SyntheticDatasetGenerator.Generate(parse.GetValue(outDir)!, new SynthOptions
            {
                Resolution = parse.GetValue(resolution), Train = parse.GetValue(train), Eval = parse.GetValue(eval), Seed = parse.GetValue(seed),
            });
            AnsiConsole.MarkupLineInterpolated($"wrote [green]{summary.OutputFolder}[/]: {summary.TrainImages} train images, {summary.Stage1Records} captions, {summary.Stage2Records} instructions, {summary.TextRecords} text-only, {summary.PopeQuestions} POPE and {summary.MmBenchQuestions} MMBench questions");
            AnsiConsole.MarkupLineInterpolated($"specs: {SynthOutput.Stage1Spec}, {SynthOutput.Stage2Spec}, {SynthOutput.PopeSpec}, {SynthOutput.MmBenchSpec}");
            return 0;
        });
        return command;
    }

    static Command Convert()
    {
        var input = new Argument<string>("IN") { Description = "Input file (.json, .jsonl, .parquet, .csv, .tsv)" };
        var output = new Argument<string>("OUT") { Description = "Output file (.json, .jsonl or .parquet)" };
        var imageRoot = new Option<string?>("--image-root") { Description = "Folder the input's image paths are relative to (default: the input's folder)" };
        var imagesOut = new Option<string?>("--images-out") { Description = "Folder for images that JSON output must write out (default: OUT-stem_images)" };
        var command = new Command("convert", "Convert between LLaVA JSON, JSONL and Parquet (formats from the extensions), keeping images.");
        command.Arguments.Add(input);
        command.Arguments.Add(output);
        command.Options.Add(imageRoot);
        command.Options.Add(imagesOut);
        command.SetAction(parse =>
        {
            var summary = DataConverter.Convert(parse.GetValue(input)!, parse.GetValue(output)!, parse.GetValue(imageRoot), parse.GetValue(imagesOut));
            AnsiConsole.MarkupLineInterpolated($"wrote [green]{summary.Output}[/]: {summary.Records} records, {summary.Images} with images");
            return 0;
        });
        return command;
    }

    static Command Inspect()
    {
        var spec = new Argument<string>("SPEC") { Description = "Dataset or mixture spec (YAML)" };
        var samples = new Option<int>("--samples") { Description = "Samples to print", DefaultValueFactory = _ => DatasetInspector.DefaultRenderedSamples };
        var decode = new Option<bool>("--decode-images") { Description = "Decode every image (slower; finds corrupt files)" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "A model folder whose tokenizer gives token statistics and label masks" };
        var template = new Option<string?>("--template") { Description = "Conversation template for the token statistics (default: the tokenizer folder's chat_template, else vicuna_v1)" };
        var imageTokens = new Option<int>("--image-tokens") { Description = "Image placeholder tokens per image (576 for CLIP-L/14 at 336)", DefaultValueFactory = _ => 576 };
        var maxLength = new Option<int>("--max-length") { Description = "Longest sample accepted", DefaultValueFactory = _ => 2048 };
        var command = new Command("inspect", "Count samples, token statistics and label masks (with --tokenizer), bad records and a few samples of a dataset spec.");
        command.Arguments.Add(spec);
        foreach (var o in new Option[] { samples, decode, tokenizer, template, imageTokens, maxLength }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var mixture = SpecLoader.LoadMixture(parse.GetValue(spec)!);
            ConversationEncoder? encoder = null;
            IModelTokenizer? tok = null;
            if (parse.GetValue(tokenizer) is { } dir)
            {
                var text = ModelText.Load(dir, parse.GetValue(template), "vicuna_v1");
                tok = text.Tokenizer;
                int imageId = tok.TokenToId("<image>") ?? throw new InvalidDataException($"{dir}: the tokenizer has no <image> token");
                encoder = new ConversationEncoder(text.Template, tok, imageId, parse.GetValue(imageTokens), parse.GetValue(maxLength));
            }
            var report = DatasetInspector.Inspect(mixture, encoder, parse.GetValue(maxLength), renderSamples: parse.GetValue(samples), decodeImages: parse.GetValue(decode));
            if (report.Tokens is { } t)
                AnsiConsole.MarkupLineInterpolated($"tokens per sample: p50 {t.P50}, p90 {t.P90}, p99 {t.P99}, max {t.Max}; {t.TotalTokens:N0} tokens, {t.LabelTokens:N0} label tokens; {t.OverMaxLength} over max_length");
            if (encoder is not null && tok is not null)
                foreach (var input in MixtureSource.Load(mixture, new DataErrorReport()).Main.Take(parse.GetValue(samples)))
                    AnsiConsole.MarkupLine(LabelMask(input.Conversation, encoder, tok));
            var table = new Table().AddColumns("dataset", "samples");
            foreach (var (name, count) in report.SamplesPerDataset) table.AddRow(Markup.Escape(name), count.ToString(System.Globalization.CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"samples {report.Samples}: {report.ImageSamples} with images, {report.TextOnlySamples} text-only; text_mix {mixture.TextMix}, seed {mixture.Seed}");
            foreach (var s in report.RenderedSamples) AnsiConsole.WriteLine(s);
            AnsiConsole.MarkupLineInterpolated($"bad records: {report.Errors.Total} ({report.Errors})");
            foreach (var e in report.Errors.Examples) AnsiConsole.MarkupLineInterpolated($"  [yellow]{e}[/]");
            return report.Errors.Total == 0 ? 0 : 2;
        });
        return command;
    }

    /// <summary>A sample's tokens with the scored ones (labels != -100) in green; a run of image tokens shown once.</summary>
    static string LabelMask(MultiLora.Data.Model.Conversation conversation, ConversationEncoder encoder, IModelTokenizer tokenizer)
    {
        var encoded = encoder.Encode(conversation);
        int? imageId = tokenizer.TokenToId("<image>");
        var text = new System.Text.StringBuilder($"[grey]{Markup.Escape(conversation.Origin)}:[/] ");
        for (int i = 0; i < encoded.Length; i++)
        {
            int id = encoded.InputIds[i];
            if (id == imageId && i > 0 && encoded.InputIds[i - 1] == id) continue;
            string piece = id == imageId ? $"<image>x{encoded.ImageTokenCount}" : TokenPieces.Show(tokenizer, id);
            piece = Markup.Escape(piece);
            text.Append(encoded.Labels[i] == MultiLora.Data.Model.EncodedSample.IgnoreIndex ? piece : $"[green]{piece}[/]");
        }
        return text.ToString();
    }
}
