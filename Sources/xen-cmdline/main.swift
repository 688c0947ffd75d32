import Dom0KitCLI

await Dom0KitMain.run(.xenCmdline, Array(CommandLine.arguments.dropFirst()))
