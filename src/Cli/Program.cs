using System.CommandLine;
using MultiLora.Cli;

var root = new RootCommand("MultiLora: LLaVA-style multimodal instruction tuning (CLIP + Llama, LoRA/QLoRA) and evaluation.");
foreach (var command in CommandCatalog.All()) root.Subcommands.Add(command);
return CliErrors.Run(() => root.Parse(args).Invoke());
