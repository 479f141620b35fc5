"""Train a small scikit-learn classifier to serve with `strata serve` (docs/serving.md).

    METAFLOW_PROFILE=dev-fraud python train_flow.py run                 # local compute, your team's S3 datastore
    strata serve deploy iris --run TrainFlow/<run id>                   # version 1 in your team's namespace
    strata serve local iris --run TrainFlow/<run id> --port 8080        # the same model with MLServer, here

The data is synthetic (make_classification with a fixed seed), so every run trains the same model. The model is
stored as ``self.model`` (the artifact `strata serve` reads by default), with a few held-out rows to try it on.
Needs scikit-learn where the steps run (`pip install 'strata-sdk[serve]'` here; an image with it on Batch).
"""

from metaflow import FlowSpec, Parameter, step


class TrainFlow(FlowSpec):
    """Generate data, fit a logistic regression, keep the fitted model and sample rows."""

    samples = Parameter("samples", default=500, type=int, help="Rows of synthetic data.")
    seed = Parameter("seed", default=7, type=int, help="Seed of the data and the train/test split.")

    @step
    def start(self):
        from sklearn.datasets import make_classification
        from sklearn.model_selection import train_test_split

        X, y = make_classification(
            n_samples=self.samples, n_features=4, n_informative=3, n_redundant=0, n_classes=3, random_state=self.seed
        )
        self.X_train, X_test, self.y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=self.seed)
        self.test_rows = X_test[:10].tolist()
        self.test_labels = y_test[:10].tolist()
        self.X_test, self.y_test = X_test, y_test
        self.next(self.train)

    @step
    def train(self):
        from sklearn.linear_model import LogisticRegression

        self.model = LogisticRegression(max_iter=1000).fit(self.X_train, self.y_train)
        self.accuracy = float(self.model.score(self.X_test, self.y_test))
        self.next(self.end)

    @step
    def end(self):
        print(f"test accuracy: {self.accuracy:.3f} on {len(self.y_test)} rows")


if __name__ == "__main__":
    TrainFlow()
