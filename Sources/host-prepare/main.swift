import Dom0KitCLI

await Dom0KitMain.run(.hostPrepare, Array(CommandLine.arguments.dropFirst()))
