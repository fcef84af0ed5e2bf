"""The Flask tutorial app, for the interop test: tessera and Flask share one SECRET_KEY."""
import os
import sys

from flask import Flask, redirect, request, session, url_for
from markupsafe import escape

app = Flask(__name__)
app.secret_key = os.environ["SECRET_KEY"]


@app.route("/")
def index():
    if "username" in session:
        return f"Logged in as {escape(session['username'])}"
    return "You are not logged in"


@app.route("/login", methods=["POST"])
def login():
    session["username"] = request.form["username"]
    return redirect(url_for("index"))


@app.route("/logout")
def logout():
    session.pop("username", None)
    return redirect(url_for("index"))


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]))
