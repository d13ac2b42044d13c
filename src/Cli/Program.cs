return MultiLora.Cli.CliApp.Run(args);
