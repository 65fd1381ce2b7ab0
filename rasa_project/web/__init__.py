"""The server `ldn-bot serve` runs (`web.app.create_app`) and its routes, one file each."""
